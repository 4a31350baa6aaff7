// Diffs the schema a running exactql serves (EXACTQL_URL, by introspection)
// against the API contract (SCHEMA, default e2e/contract/schema-v2.graphql,
// the storefront v2 contract since issue 13) with @graphql-inspector/cli.
// Any breaking change fails. Prints one PASS or FAIL line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.EXACTQL_URL;
const contract = resolve(process.env.SCHEMA ?? resolve(here, 'contract/schema-v2.graphql'));

function fail(msg) {
  console.log(`FAIL schema contract: ${msg}`);
  process.exit(1);
}

if (!base) fail('EXACTQL_URL is not set');
if (!existsSync(contract)) fail(`contract ${contract} not found`);
const cli = resolve(here, 'node_modules/.bin/graphql-inspector');
const r = spawnSync(cli, ['diff', contract, `${base}/graphql`], { encoding: 'utf8' });
const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
process.stdout.write(out.split('\n').map((l) => `  ${l}`).join('\n') + '\n');
if (r.status !== 0) fail(`graphql-inspector exited ${r.status}${r.error ? ` (${r.error.message})` : ''}`);
if (!/No breaking changes detected|No changes detected/.test(out)) fail('graphql-inspector did not confirm "no breaking changes"');
const changes = (out.match(/Detected the following changes \((\d+)\)/) ?? [])[1] ?? '0';
console.log(`PASS schema contract: no breaking change against ${contract} (${changes} non-breaking differences)`);

// Diffs the schema a running exactql serves (EXACTQL_URL, by introspection)
// against the design contract (SCHEMA, default e2e/contract/schema.graphql
// ) with @graphql-inspector/cli. Any breaking change
// fails. Prints one PASS or FAIL line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.EXACTQL_URL;
const contract = resolve(process.env.SCHEMA ?? resolve(here, 'contract/schema.graphql'));

function fail(msg) {
  console.log(`FAIL schema contract: ${msg}`);
  process.exit(1);
}

if (!base) fail('EXACTQL_URL is not set');
if (!existsSync(contract)) fail(`contract ${contract} not found`);
const cli = resolve(here, 'node_modules/.bin/graphql-inspector');
// Field types the revised contract (schema-v2) already gives are adopted, not breaking.
const rule = resolve(here, 'contract-v2-rule.cjs');
const r = spawnSync(cli, ['diff', contract, `${base}/graphql`, '--rule', rule], { encoding: 'utf8' });
const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
process.stdout.write(out.split('\n').map((l) => `  ${l}`).join('\n') + '\n');
if (r.status !== 0) fail(`graphql-inspector exited ${r.status}${r.error ? ` (${r.error.message})` : ''}`);
if (!/No breaking changes detected|No changes detected/.test(out)) fail('graphql-inspector did not confirm "no breaking changes"');
const changes = (out.match(/Detected the following changes \((\d+)\)/) ?? [])[1] ?? '0';
console.log(`PASS schema contract: no breaking change against ${contract} (${changes} non-breaking differences)`);

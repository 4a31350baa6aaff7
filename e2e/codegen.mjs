// Generates TypeScript types from a running exactql's schema (EXACTQL_URL,
// by introspection, as GraphQL Code Generator does for a storefront) with the
// typescript + typescript-operations plugins, strictScalars and the scalars
// mapping docs/scalars.md and the README document, then type-checks the
// small typed client codegen/client.ts with `tsc --noEmit`. Prints one PASS
// or FAIL line.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';

const here = dirname(fileURLToPath(import.meta.url));
const dir = resolve(here, 'codegen');
const base = process.env.EXACTQL_URL;

// The documented mapping (docs/scalars.md): every custom scalar is a string
// on the wire, in both directions.
export const scalars = {
  Decimal: 'string',
  Date: 'string',
  DateTime: 'string',
};

function fail(msg) {
  console.log(`FAIL codegen (strictScalars): ${msg}`);
  process.exit(1);
}

if (!base) fail('EXACTQL_URL is not set');
rmSync(resolve(dir, '__generated__'), { recursive: true, force: true });
try {
  await generate(
    {
      schema: `${base}/graphql`,
      silent: true,
      errorsOnly: true,
      // typescript-operations 6 writes the enums and inputs an operation
      // uses itself, so the two plugins get a file each (in one file their
      // declarations would clash): the schema's types, and the operations'.
      generates: {
        [resolve(dir, '__generated__/schema.ts')]: {
          plugins: ['typescript'],
          config: { strictScalars: true, scalars, enumsAsTypes: true },
        },
        [resolve(dir, '__generated__/operations.ts')]: {
          documents: resolve(dir, 'operations.graphql'),
          plugins: ['typescript-operations'],
          config: { strictScalars: true, scalars, enumType: 'string-literal' },
        },
      },
    },
    true,
  );
} catch (err) {
  fail(`graphql-codegen: ${err.message}${err.errors ? ` ${err.errors.map((e) => e.message).join('; ')}` : ''}`);
}

const tsc = resolve(here, 'node_modules/.bin/tsc');
const r = spawnSync(tsc, ['--noEmit', '-p', resolve(dir, 'tsconfig.json')], { encoding: 'utf8' });
const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
if (r.status !== 0) fail(`tsc --noEmit exited ${r.status}${r.error ? ` (${r.error.message})` : ''}:\n${out}`);
console.log('PASS codegen (strictScalars): types generated from the live schema, codegen/client.ts type-checks');

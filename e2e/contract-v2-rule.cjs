// A graphql-inspector diff rule (passed with --rule by schema.mjs): a field
// type change that is breaking against the current contract but makes the
// field exactly what the revised contract, contract/schema-v2.graphql, says
// is adopted from v2 and reported as dangerous instead of breaking. Today
// that is Product.stock and Product.availableQuantity becoming nullable
// (issue 13 item 5). Any other breaking change stays breaking.
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const { buildSchema } = require('graphql');

let v2;
function v2FieldType(typeName, fieldName) {
  v2 ??= buildSchema(readFileSync(resolve(__dirname, 'contract/schema-v2.graphql'), 'utf8'), { assumeValid: true });
  const t = v2.getType(typeName);
  const f = t && typeof t.getFields === 'function' ? t.getFields()[fieldName] : undefined;
  return f ? f.type.toString() : undefined;
}

module.exports = function adoptedFromV2({ changes }) {
  return changes.map((change) => {
    if (change.type !== 'FIELD_TYPE_CHANGED' || change.criticality?.level !== 'BREAKING') return change;
    const { typeName, fieldName, newFieldType } = change.meta ?? {};
    if (!typeName || !fieldName || v2FieldType(typeName, fieldName) !== newFieldType) return change;
    return {
      ...change,
      criticality: { ...change.criticality, level: 'DANGEROUS', reason: 'adopted from contract/schema-v2.graphql' },
      message: `${change.message} (adopted from schema-v2)`,
    };
  });
};

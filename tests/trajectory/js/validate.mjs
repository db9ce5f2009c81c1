// Validate trajectory documents against the outcomes JSON Schema with ajv.
// Usage: node validate.mjs SCHEMA.json DOC.json [DOC.json ...]
// Prints one JSON object per document on stdout:
//   {"file", "valid", "errors", "reserialized"}
// "reserialized" is JSON.stringify(JSON.parse(text)): the values as JavaScript holds them.
import { readFileSync } from "node:fs";
import Ajv from "ajv";

const [schemaPath, ...docs] = process.argv.slice(2);
if (!schemaPath || docs.length === 0) {
  console.error("usage: node validate.mjs SCHEMA.json DOC.json [DOC.json ...]");
  process.exit(2);
}
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addKeyword("x-schema-version");
const validate = ajv.compile(schema);
const results = docs.map((file) => {
  const text = readFileSync(file, "utf8");
  const data = JSON.parse(text);
  const valid = validate(data);
  return {
    file,
    valid,
    errors: valid ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`),
    reserialized: JSON.stringify(data),
  };
});
process.stdout.write(JSON.stringify(results) + "\n");

import { test } from "node:test";
import assert from "node:assert/strict";
import { native } from "../src/native/library.ts";
import { RECORDS } from "../src/native/records.ts";
import { ADDR_RECORD } from "../src/linux/address.ts";

/** The library's record layouts: "Name size" and "Name.field offset" lines. */
function libraryLayout(): Map<string, number> {
  const lib = native();
  const length = lib.rd_abi_layout(null, 0);
  const text = new Uint8Array(length);
  assert.equal(lib.rd_abi_layout(text, text.length), length);
  const lines = new TextDecoder().decode(text).trim().split("\n");
  return new Map(lines.map((line) => {
    const [key, value] = line.split(" ");
    return [key, Number(value)];
  }));
}

test("record layouts in records.ts are the library's, field for field", () => {
  const expected = new Map<string, number>([["Addr", ADDR_RECORD]]);
  for (const [name, { size, ...fields }] of Object.entries(RECORDS)) {
    expected.set(name, size);
    for (const [field, offset] of Object.entries(fields)) expected.set(`${name}.${field}`, offset);
  }
  assert.deepEqual(libraryLayout(), expected);
});

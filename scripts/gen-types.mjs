#!/usr/bin/env node
// Generates TypeScript declarations for the console's JSON shapes from the Rust structs that
// serialize them (serde `Serialize`, snake_case field names as in Rust), so the published types
// and the data can never drift apart by hand. Doc comments become JSDoc.
//   node scripts/gen-types.mjs OUT.d.ts FILE.rs[:TypeA,TypeB]...   (a type list takes only those)
// Handles the shapes the core uses: integers/floats → number, bool, strings, Option<T> → T | null,
// Vec<T> → T[], [T; N] → tuples, (A, B) → [A, B], named structs, and unit enums with
// `#[serde(rename_all = "snake_case")]` → string-literal unions. Anything else fails the build.
import { readFileSync, writeFileSync } from 'node:fs';

const [out, ...files] = process.argv.slice(2);
if (!out || files.length === 0) {
  console.error('usage: gen-types.mjs OUT.d.ts FILE.rs...');
  process.exit(2);
}

const NUM = new Set(['i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64', 'usize', 'isize', 'f32', 'f64']);
const known = new Set();
const referenced = new Map(); // named type → where it is used
const decls = [];

function snake(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function splitTop(s) {
  const parts = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if ('<([{'.includes(ch)) depth++;
    if ('>)]}'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) { parts.push(cur.trim()); cur = ''; } else cur += ch;
  }
  if (cur.trim()) parts.push(cur.trim());
  return parts;
}

function tsType(rust, where) {
  const t = rust.trim().replace(/^&'static\s+/, '&').replace(/\s+/g, ' ');
  if (NUM.has(t)) return 'number';
  if (t === 'bool') return 'boolean';
  if (t === 'String' || t === '&str') return 'string';
  let m;
  if ((m = /^Option<(.+)>$/.exec(t))) return `${tsType(m[1], where)} | null`;
  if ((m = /^Vec<(.+)>$/.exec(t))) {
    const inner = tsType(m[1], where);
    return inner.includes('|') ? `(${inner})[]` : `${inner}[]`;
  }
  if ((m = /^\[(.+); *(\d+)\]$/.exec(t))) return `[${Array(Number(m[2])).fill(tsType(m[1], where)).join(', ')}]`;
  if ((m = /^\((.+)\)$/.exec(t))) return `[${splitTop(m[1]).map((p) => tsType(p, where)).join(', ')}]`;
  if (/^[A-Z][A-Za-z0-9]*$/.test(t)) {
    referenced.set(t, where); // a named type, checked once all files are read
    return t;
  }
  throw new Error(`${where}: no TypeScript mapping for Rust type \`${rust}\``);
}

function jsdoc(lines, indent) {
  if (lines.length === 0) return '';
  return `${indent}/** ${lines.join(`\n${indent} * `)} */\n`;
}

for (const arg of files) {
  // `FILE.rs:TypeA,TypeB` takes only those types from the file.
  const [file, only] = arg.split(':');
  const wanted = only ? new Set(only.split(',')) : null;
  const lines = readFileSync(file, 'utf8').split('\n');
  let doc = [];
  let attrs = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.startsWith('///')) { doc.push(line.slice(3).trim()); continue; }
    if (line.startsWith('#[')) { attrs.push(line); continue; }
    const named = /^pub (?:struct|enum) (\w+)/.exec(line)?.[1];
    const serializable = attrs.some((a) => /derive\(.*\bSerialize\b/.test(a)) && (!wanted || wanted.has(named));
    const st = /^pub struct (\w+) \{$/.exec(line);
    const en = /^pub enum (\w+) \{$/.exec(line);
    if (serializable && st) {
      const name = st[1];
      const fields = [];
      let fdoc = [];
      for (i++; i < lines.length && lines[i].trim() !== '}'; i++) {
        const l = lines[i].trim();
        if (l.startsWith('///')) { fdoc.push(l.slice(3).trim()); continue; }
        const f = /^pub (\w+): (.+),$/.exec(l);
        if (f) {
          fields.push(`${jsdoc(fdoc, '  ')}  ${f[1]}: ${tsType(f[2], `${file}: ${name}.${f[1]}`)};`);
        } else if (l && !l.startsWith('//') && !l.startsWith('#[')) {
          throw new Error(`${file}: ${name}: cannot read field line \`${l}\` (private field in a serialized struct?)`);
        }
        fdoc = [];
      }
      known.add(name);
      decls.push(`${jsdoc(doc, '')}export interface ${name} {\n${fields.join('\n')}\n}`);
    } else if (serializable && en) {
      const name = en[1];
      if (!attrs.some((a) => a.includes('rename_all = "snake_case"'))) {
        throw new Error(`${file}: enum ${name} needs #[serde(rename_all = "snake_case")] to be typed`);
      }
      const variants = [];
      let unitOnly = true;
      let depth = 0;
      for (i++; i < lines.length && !(depth === 0 && lines[i].trim() === '}'); i++) {
        const l = lines[i].trim();
        const v = /^(\w+),$/.exec(l);
        if (depth === 0 && v) variants.push(`'${snake(v[1])}'`);
        else if (l && !l.startsWith('//') && !l.startsWith('#[')) unitOnly = false;
        depth += (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
      }
      // Only unit enums can be typed; another enum is left out, and fails the build only if a
      // generated type uses it (see the `referenced` check below).
      if (unitOnly) {
        known.add(name);
        decls.push(`${jsdoc(doc, '')}export type ${name} = ${variants.join(' | ')};`);
      }
    }
    if (line && !line.startsWith('#[')) { doc = []; attrs = []; }
  }
}

const text = decls.join('\n\n');
for (const [ref, where] of referenced) {
  if (!known.has(ref)) throw new Error(`${where}: type ${ref} is not generated (add the file that declares it)`);
}
writeFileSync(out, `// Generated by scripts/gen-types.mjs from the Rust structs: do not edit.\n\n${text}\n`);

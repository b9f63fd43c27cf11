/**
 * The README is a short front door and the rest lives in guides under docs/: a link that points at
 * a moved section, a renamed file or a heading that changed would leave a reader at a dead end, so
 * every relative link of README.md and docs/*.md must resolve, file and anchor (as GitHub renders
 * them), and every guide must be reachable from the README. The production policy template must
 * stay a valid policy that is refused until its placeholders are replaced. (The error table is
 * checked in test/unit/docs.test.ts, the examples' excerpts in test/e2e/readme-snippets.test.ts.)
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve('.')
const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
]

/** The text outside fenced code blocks and inline code spans: links there are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '')
}

/** The anchors GitHub gives a document's headings (github-slugger: lower case, punctuation out). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const found = new Set<string>()
  const outsideFences = markdown.replace(/^```[\s\S]*?^```$/gm, '')
  for (const [, title] of outsideFences.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    const base = title!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    found.add(count === 0 ? base : `${base}-${count}`)
  }
  return found
}

/** Every link and image of a document whose target is in this repository. */
function relativeLinks(markdown: string): string[] {
  const targets = [...prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map(
    (m) => m[1]!,
  )
  return targets.filter((target) => !/^[a-z][a-z+.-]*:/i.test(target))
}

describe.each(DOCS)('%s', (doc) => {
  const text = readFileSync(path.join(ROOT, doc), 'utf8')

  it.each(relativeLinks(text).map((link) => [link]))('links to %s, which exists', (link) => {
    const [target, anchor] = link.split('#') as [string, string | undefined]
    const file =
      target === '' ? path.join(ROOT, doc) : path.resolve(ROOT, path.dirname(doc), target)
    expect(existsSync(file), `${doc}: ${link}: no such file`).toBe(true)
    if (anchor === undefined) return
    expect(statSync(file).isFile() && file.endsWith('.md'), `${doc}: ${link}: not a document`).toBe(
      true,
    )
    expect([...anchors(readFileSync(file, 'utf8'))], `${doc}: ${link}: no such heading`).toContain(
      anchor,
    )
  })
})

describe('the README as a front door', () => {
  it('links to every guide in docs/', () => {
    const linked = new Set(
      relativeLinks(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).map(
        (link) => link.split('#')[0],
      ),
    )
    expect(DOCS.slice(1).filter((guide) => !linked.has(guide))).toEqual([])
  })

  it('finds the anchors GitHub makes, and the links the documents hold', () => {
    expect([
      ...anchors(
        "# Budget and quotas\n## Each member's rate\n## Deletes: in use, and two-person\n## Not in `/openapi.json`\n## A\n## A",
      ),
    ]).toEqual([
      'budget-and-quotas',
      'each-members-rate',
      'deletes-in-use-and-two-person',
      'not-in-openapijson',
      'a',
      'a-1',
    ])
    expect(
      relativeLinks('[a](docs/x.md#y) ![i](console/a.png) [w](https://e.com) `[c](no.md)`'),
    ).toEqual(['docs/x.md#y', 'console/a.png'])
  })
})

describe('docs/policy.production.example.json', () => {
  const tsx = path.resolve('node_modules/.bin/tsx')
  const check = (...args: string[]) =>
    spawnSync(tsx, ['scripts/policy-check.ts', 'docs/policy.production.example.json', ...args], {
      encoding: 'utf8',
    })

  it('is a valid policy, with room to grow under the 5 KB of a Worker secret', () => {
    const { status, stdout, stderr } = check('--upstream', 'http://127.0.0.1:8788/client/v4')
    expect(stderr).toBe('')
    expect(stdout).toMatch(/: valid: 3 teams, 6 members, 7 rules/)
    expect(status).toBe(0)
  })

  it('is refused in front of the real Cloudflare API until its placeholders are replaced', () => {
    const { status, stderr } = check()
    expect(stderr).toContain(
      'the gateway refuses it in front of https://api.cloudflare.com/client/v4',
    )
    expect(status).toBe(1)
    const template = readFileSync('docs/policy.production.example.json', 'utf8')
    // Every placeholder is a run of zeros: what the policy guide tells the reader to replace.
    expect(template).toContain('"demo": true')
    expect(template).toMatch(/"key_sha256": "0{63}1"/)
    expect(template).toMatch(/"accounts": \["0{32}"\]/)
  })
})

/**
 * The API reference, rendered on the server from the very document `/openapi.json` serves (the
 * one @hono/zod-openapi generates from the routes' zod schemas), so it can never drift from it
 * and needs nothing from the internet: no CDN, no script. Public, like `/openapi.json`.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../app-env'
import { page } from './layout'

/** The parts of an OpenAPI 3.1 document this page reads (the generator's output type is wider). */
export interface ApiDocument {
  info: { title: string; version: string; description?: string }
  paths?: Record<string, Record<string, Operation | undefined> | undefined>
  components?: {
    schemas?: Record<string, unknown>
    securitySchemes?: Record<
      string,
      { type: string; scheme?: string; name?: string; in?: string; description?: string }
    >
  }
  security?: Record<string, string[]>[]
  tags?: { name: string; description?: string }[]
}

interface Parameter {
  name: string
  in: string
  required?: boolean
  description?: string
  schema?: unknown
}

interface Operation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Parameter[]
  security?: Record<string, string[]>[]
  requestBody?: { content?: Record<string, { schema?: unknown }> }
  responses?: Record<string, { description?: string; content?: Record<string, unknown> }>
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

const json = (value: unknown) => JSON.stringify(value, null, 2)

function schemaSummary(schema: unknown): string {
  if (typeof schema !== 'object' || schema === null) return ''
  const s = schema as Record<string, unknown>
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop()!
  const parts: string[] = []
  if (s.type) parts.push(String(s.type))
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.join(', ')}`)
  if (s.pattern) parts.push(`pattern ${String(s.pattern)}`)
  if (s.format) parts.push(String(s.format))
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`)
  if (s.minimum !== undefined || s.maximum !== undefined)
    parts.push(`${s.minimum ?? ''}…${s.maximum ?? ''}`)
  if (Array.isArray(s.anyOf)) parts.push(s.anyOf.map(schemaSummary).join(' | '))
  return parts.join(', ')
}

function OperationSection(props: {
  method: string
  path: string
  op: Operation
  fallback?: Record<string, string[]>[]
}) {
  const { method, path, op } = props
  const security = op.security ?? props.fallback ?? []
  const anchor = op.operationId ?? `${method}-${path}`
  const answers = Object.entries(op.responses ?? {})
  // Every operation can fail in a dozen ways the code table describes: folded, so that what it
  // does stays in view.
  const failures = answers.filter(([status]) => Number(status) >= 400)
  return (
    <section class="op" aria-labelledby={`op-${anchor}`}>
      <h3 id={`op-${anchor}`}>
        <span class="method">{method}</span> <code>{path}</code>
      </h3>
      {op.operationId && <p class="hint">operationId: {op.operationId}</p>}
      {op.summary && <p>{op.summary}</p>}
      {op.description && <p>{op.description}</p>}
      <p>
        Credentials:{' '}
        {security.length === 0
          ? 'none'
          : security.map((s) => Object.keys(s).join(' + ') || 'none').join(' or ')}
      </p>
      {op.parameters && op.parameters.length > 0 && (
        <div
          class="table-wrap"
          role="region"
          aria-label={`Parameters of ${method} ${path}`}
          tabindex={0}
        >
          <table>
            <caption>Parameters</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">In</th>
                <th scope="col">Required</th>
                <th scope="col">Schema</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {op.parameters.map((p) => (
                <tr>
                  <th scope="row">
                    <code>{p.name}</code>
                  </th>
                  <td>{p.in}</td>
                  <td>{p.required ? 'yes' : 'no'}</td>
                  <td>{schemaSummary(p.schema)}</td>
                  <td>{p.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {op.requestBody?.content && (
        <details>
          <summary>Request body ({Object.keys(op.requestBody.content).join(', ')})</summary>
          <pre>{json(Object.values(op.requestBody.content)[0]?.schema)}</pre>
        </details>
      )}
      <Responses entries={answers.filter(([status]) => Number(status) < 400)} />
      {failures.length > 0 && (
        <details>
          <summary>Failures: {failures.map(([status]) => status).join(', ')}</summary>
          <Responses entries={failures} />
        </details>
      )}
    </section>
  )
}

type Response = NonNullable<Operation['responses']>[string]

function Responses(props: { entries: [string, Response][] }) {
  if (props.entries.length === 0) return <></>
  return (
    <ul>
      {props.entries.map(([status, response]) => (
        <li>
          <strong>{status}</strong> {response.description ?? ''}
          {response.content && (
            <span class="hint">{` (${Object.keys(response.content).join(', ')})`}</span>
          )}
        </li>
      ))}
    </ul>
  )
}

export function renderReference(c: Context<AppEnv>, doc: ApiDocument) {
  const groups = new Map<string, { method: string; path: string; op: Operation }[]>()
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method]
      if (op === undefined) continue
      const tag = op.tags?.[0] ?? 'Other'
      groups.set(tag, [...(groups.get(tag) ?? []), { method, path, op }])
    }
  }
  const descriptions = new Map((doc.tags ?? []).map((tag) => [tag.name, tag.description]))
  const schemes = Object.entries(doc.components?.securitySchemes ?? {})
  const schemas = Object.entries(doc.components?.schemas ?? {})
  return c.html(
    page({
      title: `${doc.info.title} API reference`,
      section: 'reference',
      children: (
        <>
          <p class="lead">
            Version {doc.info.version}. {doc.info.description ?? ''} Generated from the same zod
            schemas that validate requests; the machine-readable form is{' '}
            <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).{' '}
            <a href="/console">Back to the console</a>.
          </p>
          <nav aria-label="Sections">
            <ul>
              <li>
                <a href="#security">Security schemes</a>
              </li>
              {[...groups.keys()].map((tag) => (
                <li>
                  <a href={`#tag-${tag}`}>{tag}</a>
                </li>
              ))}
              <li>
                <a href="#schemas">Schemas</a>
              </li>
            </ul>
          </nav>
          <h2 id="security">Security schemes</h2>
          <dl class="facts">
            {schemes.map(([name, scheme]) => (
              <>
                <dt>
                  <code>{name}</code>
                </dt>
                <dd>
                  {`${scheme.type}${scheme.scheme ? ` (${scheme.scheme})` : ''}${scheme.name ? `, ${scheme.in} ${scheme.name}` : ''}`}
                  {scheme.description && <div class="hint">{scheme.description}</div>}
                </dd>
              </>
            ))}
          </dl>
          {[...groups.entries()].map(([tag, ops]) => (
            <section aria-labelledby={`tag-${tag}`}>
              <h2 id={`tag-${tag}`}>{tag}</h2>
              {descriptions.get(tag) && <p>{descriptions.get(tag)}</p>}
              {ops.map((o) => (
                <OperationSection {...o} {...(doc.security ? { fallback: doc.security } : {})} />
              ))}
            </section>
          ))}
          <h2 id="schemas">Schemas</h2>
          {schemas.map(([name, schema]) => (
            <details id={`schema-${name}`}>
              <summary>
                <code>{name}</code>
              </summary>
              <pre>{json(schema)}</pre>
            </details>
          ))}
        </>
      ),
    }),
    200,
  )
}

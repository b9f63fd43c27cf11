/**
 * `/openapi.json`, as `npm start` serves it, is a valid OpenAPI 3.1 document: checked with
 * @seriousme/openapi-schema-validator (the OpenAPI Initiative's JSON schemas, through ajv). And a
 * developer portal can render it: Redocly's recommended ruleset finds no error and no warning
 * (@redocly/openapi-core's lint, the engine of `redocly lint`, offline). In Node, because ajv
 * compiles its schemas with `new Function`, which workerd does not allow.
 */
import { createConfig, lintFromString } from '@redocly/openapi-core'
import { Validator } from '@seriousme/openapi-schema-validator'
import { describe, expect, it } from 'vitest'
import { e2e } from './support/context'

describe('/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const response = await fetch(`${e2e().gatewayUrl}/openapi.json`)
    expect(response.status).toBe(200)
    const document = (await response.json()) as Record<string, unknown>
    const validator = new Validator()
    const result = await validator.validate(document)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it("passes Redocly's recommended lint with no error and no warning", async () => {
    const response = await fetch(`${e2e().gatewayUrl}/openapi.json`)
    const config = await createConfig({ extends: ['recommended'] })
    const problems = await lintFromString({
      source: await response.text(),
      absoluteRef: `${e2e().gatewayUrl}/openapi.json`,
      config,
    })
    const found = problems.map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`,
    )
    expect(found).toEqual([])
  })
})

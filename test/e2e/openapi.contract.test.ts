/**
 * `/openapi.json`, as `npm start` serves it, is a valid OpenAPI 3.1 document: checked with
 * @seriousme/openapi-schema-validator (the OpenAPI Initiative's JSON schemas, through ajv). In
 * Node, because ajv compiles its schemas with `new Function`, which workerd does not allow.
 */
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
})

/**
 * What a valid request to the five endpoints looks like: path parameters, list query and upload
 * body. These schemas are the only gate between a caller's bytes and the upstream request; the
 * single validation hook (`lib/validation-hook.ts`) turns their failures into envelope errors.
 *
 * The PEM checks' issues carry `params.kind` (a gateway error kind) so each keeps its own code;
 * every other issue gets its code from where it was found (see the hook).
 */
import { z } from '@hono/zod-openapi'
import { booleanFlag } from '../lib/query'
import { inspectCertificates, inspectPrivateKey } from '../lib/inspect-pem'

/** More `type` values than anyone needs for three types: refused, not forwarded. */
const MAX_TYPE_VALUES = 32

const CERTIFICATE_TYPES = ['custom', 'gateway_managed', 'access_managed'] as const
export type CertificateType = (typeof CERTIFICATE_TYPES)[number]

const oneOrMany = z.union([z.string(), z.array(z.string())])

/**
 * The list query. `type` is forwarded (comma form, as the spec defines it); `ca` and `name` (sent
 * by wrangler) are applied by the gateway to the result; `page` and `per_page` (sent by older
 * clients) are accepted and ignored because the upstream answers in one page. Anything else is
 * refused rather than silently dropped or forwarded.
 */
export const listQuery = z
  .strictObject({
    type: oneOrMany
      .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')))
      .pipe(
        z
          .array(
            z.enum(CERTIFICATE_TYPES, {
              message: `type must be one of ${CERTIFICATE_TYPES.join(', ')}`,
            }),
          )
          .max(MAX_TYPE_VALUES, `type may name at most ${MAX_TYPE_VALUES} values`),
      )
      // Forwarded once each: a type repeated a thousand times is one `type=custom` upstream.
      .transform((types) => [...new Set(types)])
      .optional(),
    ca: booleanFlag('ca').optional(),
    name: z.string().min(1).max(255).optional(),
    page: z
      .string()
      .regex(/^[1-9][0-9]{0,5}$/, 'page must be a positive integer')
      .optional(),
    per_page: z
      .string()
      .regex(/^[1-9][0-9]{0,5}$/, 'per_page must be a positive integer')
      .optional(),
  })
  .superRefine((query, ctx) => {
    // A repeated scalar arrives as an array; say so instead of a confusing type error.
    for (const key of ['ca', 'name', 'page', 'per_page'] as const) {
      if (Array.isArray((query as Record<string, unknown>)[key])) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} may be given only once` })
      }
    }
  })

// cloudflare-go sends "" for an unset name or private_key; "" means absent.
const emptyAsAbsent = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional())

const uploadFields = z.strictObject({
  ca: z.boolean({ message: 'ca is required and must be a boolean' }),
  certificates: z
    .string({ message: 'certificates is required and must be a PEM string' })
    .min(1, 'certificates must not be empty'),
  name: emptyAsAbsent(
    z
      .string({ message: 'name must be a string' })
      .max(255, 'name must be at most 255 characters')
      .regex(/^[^\p{Cc}]*$/u, 'name must not contain control characters'),
  ),
  private_key: emptyAsAbsent(z.string({ message: 'private_key must be a PEM string' })),
})

/**
 * The upload body: the fields, then the PEM checks. The output carries what the gateway learnt
 * about the certificate (fingerprint, serial) for the audit trail; only the four fields go upstream.
 */
export const uploadBody = uploadFields
  .transform(async (body, ctx) => {
    const certificates = await inspectCertificates(body.certificates, body.ca)
    if (!certificates.ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['certificates'],
        message: certificates.message,
        params: { kind: certificates.kind },
      })
      return z.NEVER
    }
    if (body.private_key !== undefined) {
      const key = await inspectPrivateKey(body.private_key, certificates.value.first)
      if (!key.ok) {
        ctx.addIssue({
          code: 'custom',
          path: ['private_key'],
          message: key.message,
          params: { kind: key.kind },
        })
        return z.NEVER
      }
    }
    return { fields: body, certificate: certificates.value.info }
  })
  .openapi({
    type: 'object',
    required: ['ca', 'certificates'],
    properties: {
      ca: { type: 'boolean' },
      certificates: {
        type: 'string',
        description: 'PEM: one or more certificates, the first one is described',
      },
      name: { type: 'string', maxLength: 255 },
      private_key: {
        type: 'string',
        description:
          'Unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) matching the first certificate',
      },
    },
  })

export type UploadFields = z.infer<typeof uploadFields>

/** Cloudflare's API envelope, which the emulator answers in and the gateway relays. */
export interface Envelope<T = unknown> {
  success: boolean
  errors: { code: number; message: string; source?: { pointer: string } }[]
  messages: unknown[]
  result: T
  result_info?: Record<string, number>
}

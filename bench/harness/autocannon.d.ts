// The part of autocannon's API the bench uses (the package ships no types).
declare module 'autocannon' {
  interface Instance extends PromiseLike<{ errors: number; timeouts: number }> {
    on(
      event: 'response',
      listener: (client: unknown, status: number, bytes: number, ms: number) => void,
    ): void
  }
  interface Options {
    url: string
    connections: number
    duration?: number
    amount?: number
    timeout?: number
    requests?: {
      setupRequest: (request: Record<string, unknown>) => Record<string, unknown>
      onResponse?: (status: number, body: string) => void
    }[]
  }
  export default function autocannon(options: Options): Instance
}

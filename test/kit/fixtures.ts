/**
 * The committed example CA (a real certificate whose upstream answer the contract quotes) and its
 * private key, for both Workers' tests.
 */
import exampleCa from '../fixtures/example-ca.pem?raw'
import exampleKey from '../fixtures/example-ca.key?raw'

export { exampleCa, exampleKey }

/** A line from inside the example key: if it shows up anywhere, the key leaked. */
export const exampleKeyLine = exampleKey.split('\n')[1]!

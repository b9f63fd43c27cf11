/** The Worker's entry point. */
import { buildGateway } from './app'

const app = buildGateway()

export default app satisfies ExportedHandler<Env>

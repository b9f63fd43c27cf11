/**
 * What the request scope gives lifecycle's operations (issue 23): the notices on the coordinator
 * and the writer of lifecycle entries on the audit chain. Types only.
 */
import type { NoticeStore } from '../coordinator/client'
import type { LifecycleRecorder } from './record'

export interface LifecyclePorts {
  notices: NoticeStore
  record: LifecycleRecorder
}

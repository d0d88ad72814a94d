/**
 * Messages between the daemon and its trainer process (child_process.fork IPC). The trainer
 * only reports; the daemon decides.
 */
import type { Job } from '../train/job.js';
import type { RunEvent } from '../train/run-events.js';

export type ToTrainer =
  | { readonly type: 'start'; readonly job: Job; readonly rho: number; readonly paused: boolean }
  | { readonly type: 'setRho'; readonly rho: number }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'checkpoint' }
  | { readonly type: 'stop' };

export type FromTrainer =
  | { readonly type: 'ready'; readonly backend: string; readonly gpu: boolean }
  | { readonly type: 'event'; readonly event: RunEvent }
  | {
      readonly type: 'error';
      readonly message: string;
      readonly fatal: boolean;
      /** A restart may succeed without a change to the job (busy lock, full or failing disk). */
      readonly transient?: boolean;
    };

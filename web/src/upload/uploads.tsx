// The upload queue shared by the drive (drop, picker) and the panel that shows it. Files go one
// after another; each file's blocks go in parallel (uploader.ts).
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api/client.js';
import { uploadFile, type UploadProgress } from './uploader.js';

export interface UploadJob extends UploadProgress {
  id: number;
  name: string;
  folder: string;
  size: number;
  startedAt: number;
}

interface Uploads {
  jobs: UploadJob[];
  enqueue(files: File[], folder: string): void;
  clearFinished(): void;
  /** Called with the folder path whenever a file lands in it. */
  onUploaded(listener: (folder: string) => void): () => void;
}

const UploadsContext = createContext<Uploads | null>(null);

export function isFinished(job: UploadJob): boolean {
  return job.phase === 'done' || job.phase === 'instant' || job.phase === 'failed';
}

export function UploadsProvider({ api, children }: { api: Api; children: ComponentChildren }) {
  const [jobs, setJobs] = useState<UploadJob[]>([]);
  const queue = useRef<Array<{ id: number; file: File; folder: string }>>([]);
  const running = useRef(false);
  const nextId = useRef(1);
  const listeners = useRef(new Set<(folder: string) => void>());
  // Signing out unmounts the provider: the upload in flight stops and the queue is dropped, so
  // that nothing goes on uploading into the signed-out user's drive or saves a resumable record
  // (with its upload token) after the sign-out forgot them.
  const stop = useRef(new AbortController());
  useEffect(
    () => () => {
      stop.current.abort();
      queue.current = [];
    },
    [],
  );

  const patch = useCallback((id: number, change: Partial<UploadJob>) => {
    setJobs((all) => all.map((job) => (job.id === id ? { ...job, ...change } : job)));
  }, []);

  const pump = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    try {
      for (let next = queue.current.shift(); next; next = queue.current.shift()) {
        const { id, file, folder } = next;
        patch(id, { startedAt: Date.now() });
        try {
          await uploadFile(api, file, folder, (change) => patch(id, change), stop.current.signal);
          for (const listener of listeners.current) listener(folder);
        } catch (err) {
          const error = err instanceof ApiError ? err : new ApiError('UNKNOWN', 0, err instanceof Error ? err.message : String(err));
          patch(id, { phase: 'failed', error });
        }
      }
    } finally {
      running.current = false;
    }
  }, [api, patch]);

  // Stable across renders: subscribers re-subscribe only when they themselves change.
  const onUploaded = useCallback((listener: (folder: string) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  const value = useMemo<Uploads>(
    () => ({
      jobs,
      enqueue(files, folder) {
        const added: UploadJob[] = files.map((file) => {
          const id = nextId.current++;
          queue.current.push({ id, file, folder });
          return { id, name: file.name, folder, size: file.size, startedAt: 0, phase: 'waiting', hashedBytes: 0, sentBytes: 0, rate: 0, resumedBlocks: 0 };
        });
        setJobs((all) => [...all, ...added]);
        void pump();
      },
      clearFinished() {
        setJobs((all) => all.filter((job) => !isFinished(job)));
      },
      onUploaded,
    }),
    [jobs, pump, onUploaded],
  );
  return <UploadsContext.Provider value={value}>{children}</UploadsContext.Provider>;
}

export function useUploads(): Uploads {
  const uploads = useContext(UploadsContext);
  if (!uploads) throw new Error('useUploads outside UploadsProvider');
  return uploads;
}

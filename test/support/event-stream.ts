// `/v1/offline/events` read as a browser's EventSource would: its events collected as they come.

export interface SseEvent {
  event: string;
  data: any;
}

/** Opens `/v1/offline/events` and collects its events until `close`. */
export async function openStream(url: string, token: string, via: 'header' | 'query') {
  const controller = new AbortController();
  const target = via === 'query' ? `${url}/v1/offline/events?token=${encodeURIComponent(token)}` : `${url}/v1/offline/events`;
  const res = await fetch(target, { headers: via === 'header' ? { authorization: `Bearer ${token}` } : {}, signal: controller.signal });
  const events: SseEvent[] = [];
  const waiters: Array<() => void> = [];
  const done = (async () => {
    if (!res.ok || res.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
          for (const w of waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    /** Settles when the server ends the stream (or it is closed here). */
    ended: done,
    async until(match: (e: SseEvent) => boolean, timeoutMs = 60_000): Promise<SseEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`no matching event among ${JSON.stringify(events.map((e) => [e.event, e.data.status, e.data.finishedSize]))}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 500);
        });
      }
    },
    async close() {
      controller.abort();
      await done;
    },
  };
}

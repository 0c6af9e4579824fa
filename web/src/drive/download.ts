// Downloads go through the signed address the API hands out; the browser saves it (the
// server sends Content-Disposition: attachment with the UTF-8 name).
import type { Api } from '../api/client.js';
import type { FileObject } from '../api/types.js';

/** Lets the browser save an address (an attachment: the page stays). */
export function saveAddress(address: string, name = ''): void {
  const link = document.createElement('a');
  link.href = address;
  if (name) link.download = name;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
}

/** A folder or a selection as one zip, built by the server as it downloads. */
export async function downloadZip(api: Api, entries: FileObject[]): Promise<void> {
  const { downloadAddress } = await api.zipAddress(entries.map((e) => e.uuid));
  saveAddress(downloadAddress);
}

export async function downloadFiles(api: Api, files: FileObject[]): Promise<void> {
  for (const file of files) {
    const { downloadAddress } = await api.downloadAddress(file.uuid);
    const link = document.createElement('a');
    link.href = downloadAddress;
    link.download = file.name;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
    // Browsers drop some of several downloads started in the same instant.
    if (files.length > 1) await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

// Downloads go through the signed address the API hands out; the browser saves it (the
// server sends Content-Disposition: attachment with the UTF-8 name).
import type { Api } from '../api/client.js';
import type { FileObject } from '../api/types.js';

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

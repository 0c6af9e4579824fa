// Builds the browser UI (web/) into dist/web/, which src/http/static.ts serves at `/`.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/',
  // Preact's automatic JSX runtime through Vite's own esbuild: no Babel preset needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../dist/web',
    // dist/web sits outside the Vite root, so Vite would refuse to clear it unasked.
    emptyOutDir: true,
    // The Content-Security-Policy allows no data: scripts or fonts; keep every asset a file.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  worker: { format: 'es' },
});

import { defineConfig } from 'vite';

/**
 * The web console, built by `npm run build` (`vite build console`: this folder
 * is Vite's root) into dist/console, which the service serves at /console.
 * Preact through Vite's own JSX transform (Oxc), no Babel. The output must
 * run under the console's CSP (src/web-console/web-console.headers.ts): no
 * inline script or style, nothing from another origin.
 */
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/console',
    // Outside this root, so Vite asks: nest build has just emptied dist/ anyway.
    emptyOutDir: true,
    // Nothing inlined as data: URLs (fonts or scripts would break the CSP); every asset is a file.
    assetsInlineLimit: 0,
    // The modulepreload polyfill would be injected as code; every browser the console targets has modulepreload.
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
});

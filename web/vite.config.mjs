import { defineConfig } from 'vite';
/* global process */

// The gateway serves dist/ at `/` (or any sub-path): keep asset URLs relative.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 4096,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` proxies the API to a gateway given by PAVEWATCH_GATEWAY_URL.
    proxy: process.env.PAVEWATCH_GATEWAY_URL
      ? {
          '/api': { target: process.env.PAVEWATCH_GATEWAY_URL, ws: true, changeOrigin: true },
          '/config.json': { target: process.env.PAVEWATCH_GATEWAY_URL, changeOrigin: true },
        }
      : undefined,
  },
});

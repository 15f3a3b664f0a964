import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev -w web`: the admin with hot reload on :5173, talking to a server started with
// `npm start` (or VYVO_SERVER=http://host:port). /graphql (HTTP and WebSocket) and /artifacts/
// are proxied, so the session cookie and the page share one origin, as in production.
const server = process.env.VYVO_SERVER ?? "http://127.0.0.1:4000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    // Libraries change less often than the admin: their own chunks stay cached across releases.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            { name: "vendor", test: /node_modules[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      "/graphql": {
        target: server,
        ws: true,
        changeOrigin: true,
        // The server accepts a cookie WebSocket only from its own origin: present it as such.
        configure: (proxy) => proxy.on("proxyReqWs", (request) => request.setHeader("origin", server)),
      },
      "/artifacts": { target: server, changeOrigin: true },
    },
  },
});

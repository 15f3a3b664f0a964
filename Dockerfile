# The server and the agent share one image; docker-compose.yml and deploy/k8s pick the command.
# tsx runs the TypeScript sources (as in development), so dev dependencies are installed too.
FROM node:20.20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY server/package.json server/
COPY agent/package.json agent/
COPY web/package.json web/
COPY runners runners
COPY schema schema
COPY scripts scripts
RUN npm ci --no-audit --no-fund
COPY . .
# The agent as one file (for provisioning) and the admin console (served at /).
RUN npm run build
ENV NODE_ENV=production
EXPOSE 4000
CMD ["npx", "tsx", "server/src/serve.ts"]

# The server and the agent share one image; docker-compose.yml and deploy/k8s pick the command.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY server/package.json server/
COPY agent/package.json agent/
COPY web/package.json web/
COPY runners runners
COPY schema schema
COPY scripts scripts
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY . .
EXPOSE 4000
CMD ["npx", "tsx", "server/src/serve.ts"]

import { createRootRoute, createRoute, createRouter } from "@tanstack/react-router";
import { Layout, NotFound } from "./components/layout";
import { JobPage } from "./pages/jobs/job-page";
import { JobsPage, parseJobsSearch } from "./pages/jobs/jobs-list";
import { ModelsPage, parseModelsSearch } from "./pages/models/models";
import { NodePage, parseNodeSearch } from "./pages/nodes/node-page";
import { NodesPage } from "./pages/nodes/nodes";
import { OverviewPage } from "./pages/overview/overview";
import { QueuesPage } from "./pages/queues/queues";
import { ApiKeysPage } from "./pages/settings/api-keys";
import { AuditLogPage, parseAuditSearch } from "./pages/settings/audit-log";
import { SettingsIndex, SettingsLayout } from "./pages/settings/settings-layout";
import { UsersPage } from "./pages/settings/users";

const rootRoute = createRootRoute({ component: Layout, notFoundComponent: NotFound });

const settingsRoute = createRoute({ getParentRoute: () => rootRoute, path: "/settings", component: SettingsLayout });

const routeTree = rootRoute.addChildren([
  createRoute({ getParentRoute: () => rootRoute, path: "/", component: OverviewPage }),
  createRoute({ getParentRoute: () => rootRoute, path: "/jobs", component: JobsPage, validateSearch: parseJobsSearch }),
  createRoute({ getParentRoute: () => rootRoute, path: "/jobs/$jobId", component: JobPage }),
  createRoute({ getParentRoute: () => rootRoute, path: "/queues", component: QueuesPage }),
  createRoute({ getParentRoute: () => rootRoute, path: "/nodes", component: NodesPage }),
  createRoute({
    getParentRoute: () => rootRoute,
    path: "/nodes/$nodeId",
    component: NodePage,
    validateSearch: parseNodeSearch,
  }),
  createRoute({
    getParentRoute: () => rootRoute,
    path: "/models",
    component: ModelsPage,
    validateSearch: parseModelsSearch,
  }),
  settingsRoute.addChildren([
    createRoute({ getParentRoute: () => settingsRoute, path: "/", component: SettingsIndex }),
    createRoute({ getParentRoute: () => settingsRoute, path: "/keys", component: ApiKeysPage }),
    createRoute({ getParentRoute: () => settingsRoute, path: "/users", component: UsersPage }),
    createRoute({
      getParentRoute: () => settingsRoute,
      path: "/audit",
      component: AuditLogPage,
      validateSearch: parseAuditSearch,
    }),
  ]),
]);

export const router = createRouter({ routeTree, defaultPreload: false, scrollRestoration: true });

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}

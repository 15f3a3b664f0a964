import { Link, Outlet } from "@tanstack/react-router";
import { useConnectionState } from "../graphql/connection";
import { useSession } from "../session/session";

const NAV: { to: string; label: string; permission?: string; any?: string[] }[] = [
  { to: "/", label: "Overview" },
  { to: "/jobs", label: "Jobs", permission: "jobs:read" },
  { to: "/queues", label: "Queues", permission: "queues:read" },
  { to: "/nodes", label: "Nodes", permission: "nodes:read" },
  { to: "/models", label: "Models", permission: "models:read" },
  { to: "/settings", label: "Settings", any: ["keys:read", "users:read", "audit:read"] },
];

export function Layout() {
  const session = useSession();
  const { status } = useConnectionState(session.connection);
  const links = NAV.filter(
    (item) => (!item.permission || session.can(item.permission)) && (!item.any || item.any.some(session.can)),
  );
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="brand-mark" aria-hidden="true" /> Vyvo
        </Link>
        <nav aria-label="Main" className="nav">
          {links.map((item) => (
            <Link key={item.to} to={item.to} className="nav-link" activeOptions={{ exact: item.to === "/" }}>
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="who">
          <span className="who-name" title={`${session.viewer.kind} ${session.viewer.id}`}>
            {session.viewer.name}
          </span>
          <button type="button" className="button small" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {status === "reconnecting" ? (
        <div className="banner warn" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Connection to the server lost — reconnecting… Live updates
          resume on their own.
        </div>
      ) : null}
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}

export function NotFound() {
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. <Link to="/">Back to the overview</Link>.
      </p>
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  );
}

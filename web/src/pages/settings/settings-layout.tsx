import { Link, Navigate, Outlet } from "@tanstack/react-router";
import { PageHeader } from "../../components/layout";
import { useSession } from "../../session/session";

const TABS = [
  { to: "/settings/keys", label: "API keys", permission: "keys:read" },
  { to: "/settings/users", label: "Users and roles", permission: "users:read" },
  { to: "/settings/audit", label: "Audit log", permission: "audit:read" },
] as const;

export function SettingsLayout() {
  const session = useSession();
  const tabs = TABS.filter((tab) => session.can(tab.permission));
  return (
    <div className="page">
      <PageHeader title="Settings" />
      <nav aria-label="Settings" className="tabs">
        {tabs.map((tab) => (
          <Link key={tab.to} to={tab.to} className="tab">
            {tab.label}
          </Link>
        ))}
      </nav>
      <Outlet />
    </div>
  );
}

/** /settings opens the first tab the viewer may see. */
export function SettingsIndex() {
  const session = useSession();
  const first = TABS.find((tab) => session.can(tab.permission));
  if (!first) return <p className="muted">Your role has no settings to see.</p>;
  return <Navigate to={first.to} replace />;
}

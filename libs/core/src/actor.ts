/** API key roles (API.md "Conventions"). */
export const ROLES = ['admin', 'marketer', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Who is acting: an API key, or the system itself (the scheduler, the CLI). Goes into the audit trail. */
export interface Actor {
  keyId: string | null;
  name: string;
  role: Role;
}

export const systemActor = (name: string): Actor => ({ keyId: null, name, role: 'admin' });

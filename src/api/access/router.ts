// The access router (admins only, by its domain): users, tokens and permissions; and the audit router.
import { protectedProcedure, router } from '../trpc.ts';
import {
  auditListInputSchema,
  createTokenInputSchema,
  createUserInputSchema,
  listPermissionsInputSchema,
  listTokensInputSchema,
  permissionInputSchema,
  setRoleInputSchema,
  tokenRefSchema,
  userRefSchema,
} from './schemas.ts';

export const accessRouter = router({
  users: router({
    list: protectedProcedure.query(({ ctx }) => ctx.access.listUsers()),
    create: protectedProcedure.input(createUserInputSchema).mutation(({ ctx, input }) => ctx.access.createUser(ctx.user, input)),
    setRole: protectedProcedure.input(setRoleInputSchema).mutation(({ ctx, input }) => ctx.access.setRole(ctx.user, input)),
    disable: protectedProcedure.input(userRefSchema).mutation(({ ctx, input }) => ctx.access.setDisabled(ctx.user, input.name, true)),
    enable: protectedProcedure.input(userRefSchema).mutation(({ ctx, input }) => ctx.access.setDisabled(ctx.user, input.name, false)),
  }),
  tokens: router({
    list: protectedProcedure.input(listTokensInputSchema).query(({ ctx, input }) => ctx.access.listTokens(input)),
    create: protectedProcedure.input(createTokenInputSchema).mutation(({ ctx, input }) => ctx.access.createToken(ctx.user, input)),
    revoke: protectedProcedure.input(tokenRefSchema).mutation(({ ctx, input }) => ctx.access.revokeToken(ctx.user, input.id)),
  }),
  list: protectedProcedure.input(listPermissionsInputSchema).query(({ ctx, input }) => ctx.access.listPermissions(input)),
  grant: protectedProcedure.input(permissionInputSchema).mutation(({ ctx, input }) => ctx.access.grant(ctx.user, input)),
  revoke: protectedProcedure.input(permissionInputSchema).mutation(({ ctx, input }) => ctx.access.revoke(ctx.user, input)),
});

export const auditRouter = router({
  list: protectedProcedure.input(auditListInputSchema).query(({ ctx, input }) => ctx.access.listAudit(input)),
});

import { AppError } from '../../errors/index.ts';
import type { ApiCall, OperationHandler } from '../../modules/gateway/contract.ts';
import { checkIfMatch, collection, pageOf, userOf } from '../http-util.ts';
import type { ApplicationsService, NewApplication, Viewer } from './applications-service.ts';

/** Handlers of the Account Applications API. */
export function createApplicationsHandlers(service: ApplicationsService): Record<string, OperationHandler> {
  /**
   * The applicant sees their own applications; a reviewer (a token with `data/read` and the
   * institution-wide `reviewApplications` entitlement) sees every one.
   */
  async function viewerOf(call: ApiCall, applicationId?: string, scope = 'data/read'): Promise<Viewer> {
    const userId = userOf(call);
    const environment = call.key.environment ?? 'production';
    const scopes = call.principal?.scopes;
    if (!scopes?.has(scope)) return { userId, reviewer: false, environment };
    const reviewer = applicationId
      ? await call.entitlements.has('accountApplication', applicationId, 'reviewApplications')
      : (await call.entitlements.ids('accountApplication', 'reviewApplications')) === '*';
    return { userId, reviewer, environment };
  }

  return {
    async getAccountApplications(call) {
      const viewer = await viewerOf(call);
      const page = pageOf(call.query);
      const state = typeof call.query.state === 'string' ? call.query.state : undefined;
      const { items, count } = await service.list(viewer, { state }, page);
      return {
        status: 200,
        body: collection(items, page, count, '/accountApplications/accountApplications', { state }),
        headers: { 'cache-control': 'no-store' },
      };
    },

    async createAccountApplication(call) {
      const { body, etag } = await service.create(
        userOf(call),
        call.body as NewApplication,
        call.now,
        call.key.environment,
      );
      return {
        status: 201,
        body,
        headers: { location: body._links.self.href, etag },
      };
    },

    async getAccountApplication(call) {
      const id = call.params.applicationId ?? '';
      const { body, etag } = await service.get(id, await viewerOf(call, id));
      return { status: 200, body, headers: { etag, 'cache-control': 'no-store' } };
    },

    async getApplicationDocuments(call) {
      const id = call.params.applicationId ?? '';
      const items = await service.documents(id, await viewerOf(call, id));
      return { status: 200, body: { items }, headers: { 'cache-control': 'no-store' } };
    },

    async uploadApplicationDocument(call) {
      const id = call.params.applicationId ?? '';
      if (!Buffer.isBuffer(call.body)) {
        throw new AppError('unsupportedMediaType', { detail: 'Send the file itself as the request body.' });
      }
      const kind = typeof call.query.kind === 'string' ? call.query.kind : 'identityDocument';
      const document = await service.upload(
        userOf(call),
        id,
        { kind, contentType: call.contentType ?? '', content: call.body },
        call.now,
        call.key.environment,
      );
      return { status: 201, body: document, headers: { location: document._links.content.href } };
    },

    async getApplicationDocumentContent(call) {
      const id = call.params.applicationId ?? '';
      const { contentType, content } = await service.documentContent(
        id,
        call.params.documentId ?? '',
        await viewerOf(call, id),
      );
      return {
        status: 200,
        body: content,
        contentType,
        headers: {
          'cache-control': 'no-store',
          'content-disposition': 'attachment',
          'x-content-type-options': 'nosniff',
        },
      };
    },

    async approveAccountApplication(call) {
      const id = call.params.applicationId ?? '';
      const viewer = await viewerOf(call, id, 'data/write');
      if (!viewer.reviewer)
        throw new AppError('notFound', { detail: 'The requested resource does not exist.' });
      await service.get(id, viewer); // another environment's application does not exist here (§5.4)
      const { body, etag } = await service.approve(id, viewer.userId, call.now, (current) =>
        checkIfMatch(call.headers['if-match'], current),
      );
      return { status: 200, body, headers: { etag } };
    },

    async rejectAccountApplication(call) {
      const id = call.params.applicationId ?? '';
      const viewer = await viewerOf(call, id, 'data/write');
      if (!viewer.reviewer)
        throw new AppError('notFound', { detail: 'The requested resource does not exist.' });
      await service.get(id, viewer); // another environment's application does not exist here (§5.4)
      const reason = (call.body as { reason?: string } | undefined)?.reason;
      const { body, etag } = await service.reject(id, viewer.userId, reason, call.now, (current) =>
        checkIfMatch(call.headers['if-match'], current),
      );
      return { status: 200, body, headers: { etag } };
    },
  };
}

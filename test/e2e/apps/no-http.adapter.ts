import { AbstractHttpAdapter } from '@nestjs/core';

/**
 * An HTTP adapter that serves nothing: it lets a test build a hybrid app (`NestFactory.create()`
 * plus `connectMicroservice()`) without an HTTP platform package. The app is only `init()`ed,
 * never `listen()`ed, so no request ever reaches these no-ops.
 */
export class NoHttpAdapter extends AbstractHttpAdapter {
  constructor() {
    super({});
  }
  initHttpServer(): void {}
  close(): void {}
  getType(): string {
    return 'none';
  }
  useStaticAssets(): void {}
  setViewEngine(): void {}
  getRequestHostname(): void {}
  getRequestMethod(): void {}
  getRequestUrl(): void {}
  status(): void {}
  reply(): void {}
  end(): void {}
  render(): void {}
  redirect(): void {}
  setErrorHandler(): void {}
  setNotFoundHandler(): void {}
  isHeadersSent(): boolean {
    return false;
  }
  getHeader(): void {}
  setHeader(): void {}
  appendHeader(): void {}
  registerParserMiddleware(): void {}
  enableCors(): void {}
  createMiddlewareFactory(): () => void {
    return () => undefined;
  }
  applyVersionFilter(): () => () => void {
    return () => () => undefined;
  }
}

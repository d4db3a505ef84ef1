import { Inject } from '@nestjs/common';

/** The resolved `NatsModuleOptions`. */
export const NATS_MODULE_OPTIONS = Symbol('NATS_MODULE_OPTIONS');

/** The injection token of the KV bucket `bucket`. */
export function getKvToken(bucket: string): string {
  return `nestjs-nats:kv:${bucket}`;
}

/** Injects the KV bucket `bucket` declared in `NatsModule.forRoot({ kv: [...] })`. */
export function InjectKv(bucket: string): ParameterDecorator & PropertyDecorator {
  return Inject(getKvToken(bucket));
}

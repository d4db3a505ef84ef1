import {
  Logger,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { connect, NatsConnection, type ConnectOptions } from '../../core/internal.js';
import {
  JetStreamClient,
  JetStreamManager,
  JsApi,
  type JetStreamOptions,
} from '../../jetstream/internal.js';
import { BucketNotFoundError, type KvBucket, type KvOptions } from '../../kv/internal.js';
import { getKvToken, NATS_MODULE_OPTIONS } from './nats.tokens.js';

/** Options of `NatsModule.forRoot()`: connect options plus JetStream and KV settings. */
export interface NatsModuleOptions extends ConnectOptions {
  /** JetStream domain or API prefix of the injected JetStream client and manager. */
  jetstream?: JetStreamOptions;
}

/** A KV bucket to provide: its name, or bucket options to create it when missing. */
export type KvBucketDeclaration = string | KvOptions;

/** Options of `NatsModule.forRootAsync()`: the connect options come from `useFactory`. */
export interface NatsModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers to inject into `useFactory` (for example `ConfigService`). */
  inject?: InjectionToken[];
  /** Builds the `NatsModuleOptions` from the `inject`ed providers, in order. */
  useFactory: (...args: never[]) => NatsModuleOptions | Promise<NatsModuleOptions>;
  /** KV buckets to provide; their names must be known up front (they are injection tokens). */
  kv?: KvBucketDeclaration[];
  /** Register the providers globally. @default false */
  isGlobal?: boolean;
}

/**
 * Provides a shared `NatsConnection`, the `JetStreamClient` and `JetStreamManager`, and KV
 * buckets by name (`@InjectKv('bucket')`). The connection drains when the application shuts down.
 */
@Module({})
export class NatsModule implements OnApplicationShutdown {
  private readonly log = new Logger('NatsModule');

  constructor(private readonly moduleRef: ModuleRef) {}

  /**
   * Connects with `options` when the app starts (startup fails if it cannot) and opens or
   * creates the `kv` buckets; `isGlobal` makes the providers global.
   */
  static forRoot(
    options: NatsModuleOptions & { kv?: KvBucketDeclaration[]; isGlobal?: boolean } = {},
  ): DynamicModule {
    const { kv = [], isGlobal = false, ...rest } = options;
    return NatsModule.build([{ provide: NATS_MODULE_OPTIONS, useValue: rest }], kv, isGlobal, []);
  }

  /** As `forRoot()`, with the connect options built by `useFactory` (e.g. from `ConfigService`). */
  static forRootAsync(options: NatsModuleAsyncOptions): DynamicModule {
    const provider: Provider = {
      provide: NATS_MODULE_OPTIONS,
      useFactory: options.useFactory as (
        ...args: unknown[]
      ) => NatsModuleOptions | Promise<NatsModuleOptions>,
      inject: options.inject ?? [],
    };
    return NatsModule.build(
      [provider],
      options.kv ?? [],
      options.isGlobal ?? false,
      options.imports ?? [],
    );
  }

  private static build(
    optionProviders: Provider[],
    kv: KvBucketDeclaration[],
    global: boolean,
    imports: ModuleMetadata['imports'],
  ): DynamicModule {
    const kvProviders: Provider[] = kv.map((decl) => {
      const bucket = typeof decl === 'string' ? decl : decl.bucket;
      return {
        provide: getKvToken(bucket),
        useFactory: (js: JetStreamClient) => closingOnFailure(js.nc, () => openOrCreate(js, decl)),
        inject: [JetStreamClient],
      };
    });
    const providers: Provider[] = [
      ...optionProviders,
      {
        provide: NatsConnection,
        useFactory: (o: NatsModuleOptions) => {
          const { jetstream: _js, ...connectOptions } = o;
          return connect(connectOptions);
        },
        inject: [NATS_MODULE_OPTIONS],
      },
      {
        provide: JetStreamClient,
        useFactory: (nc: NatsConnection, o: NatsModuleOptions) =>
          closingOnFailure(nc, () => nc.jetstream(o.jetstream)),
        inject: [NatsConnection, NATS_MODULE_OPTIONS],
      },
      {
        // Built without the INFO round trip, so an app that never uses JetStream still boots
        // against a server without it; calls fail with JetStreamNotAvailableError instead.
        provide: JetStreamManager,
        useFactory: (nc: NatsConnection, o: NatsModuleOptions) =>
          closingOnFailure(nc, () => new JetStreamManager(new JsApi(nc, o.jetstream))),
        inject: [NatsConnection, NATS_MODULE_OPTIONS],
      },
      ...kvProviders,
    ];
    return {
      module: NatsModule,
      global,
      imports: imports ?? [],
      providers,
      exports: [
        NatsConnection,
        JetStreamClient,
        JetStreamManager,
        ...kvProviders.map((p) => (p as { provide: string }).provide),
      ],
    };
  }

  /** Drains the shared connection: in-flight requests and buffered publishes complete. */
  async onApplicationShutdown(): Promise<void> {
    const nc = this.moduleRef.get(NatsConnection, { strict: true });
    if (nc.isClosed) return;
    await nc
      .drain()
      .catch((err: unknown) => this.log.warn(`drain failed: ${(err as Error).message}`));
  }
}

/**
 * Runs a provider's factory on the module's connection. If it fails, the app does not start and
 * Nest runs no shutdown hooks, so the connection is closed here rather than left open.
 */
async function closingOnFailure<T>(nc: NatsConnection, build: () => T | Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err;
  }
}

async function openOrCreate(js: JetStreamClient, decl: KvBucketDeclaration): Promise<KvBucket> {
  if (typeof decl === 'string') return js.keyValue(decl);
  try {
    return await js.keyValue(decl.bucket);
  } catch (err) {
    if (!(err instanceof BucketNotFoundError)) throw err;
    return js.createKeyValue(decl);
  }
}

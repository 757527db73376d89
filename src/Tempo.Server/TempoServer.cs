using System.Net;
using System.Runtime.InteropServices;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Tempo.Server;

/// <summary>
/// The OpenAI-compatible HTTP server over one engine: <c>POST /v1/chat/completions</c>, <c>POST /v1/completions</c>
/// (JSON or SSE), <c>GET /v1/models</c>, <c>GET /health</c>, <c>GET /metrics</c>. Start one with
/// <see cref="StartAsync"/>; it listens until <see cref="StopAsync"/> (or SIGTERM when
/// <see cref="ServerOptions.HandleProcessSignals"/> is set), which stops admitting, lets in-flight requests finish
/// for <see cref="ServerOptions.ShutdownGrace"/>, aborts the rest with a final event, and returns.
/// </summary>
/// <example>
/// In a test, on a free loopback port with the simulated engine ten times faster than real time:
/// <code>
/// await using var server = await TempoServer.StartAsync(
///     new ServerOptions { Port = 0 }, new SimulatedBackend(CostProfile.Default, speed: 10));
/// var baseUrl = server.BaseAddress; // http://127.0.0.1:PORT/
/// </code>
/// </example>
public sealed class TempoServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EngineHost _host;
    private readonly ServingMetrics _metrics;
    private readonly ServerOptions _options;
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly Lock _stopGate = new();
    private Task? _stopping;

    private TempoServer(WebApplication app, EngineHost host, ServingMetrics metrics, ServerOptions options, string modelName, Uri baseAddress)
    {
        _metrics = metrics;
        _app = app;
        _host = host;
        _options = options;
        ModelName = modelName;
        BaseAddress = baseAddress;
        if (options.HandleProcessSignals)
        {
            foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT })
            {
                _signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    // Keep the process alive: the drain below ends it, with the listener still answering 503.
                    context.Cancel = true;
                    _ = StopAsync();
                }));
            }
        }
    }

    /// <summary>Where the server listens, for example <c>http://127.0.0.1:8000/</c> (the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    /// <summary>The model name clients send and <c>/v1/models</c> lists.</summary>
    public string ModelName { get; }

    /// <summary>The scheduling policy in use.</summary>
    public string Policy => _host.PolicyName;

    /// <summary>The engine's state as last published by its thread (live requests, queues, KV usage).</summary>
    public EngineSnapshot Engine => _host.Snapshot;

    /// <summary>The .NET instruments of this server (its own meter instance), for tests.</summary>
    internal ServerInstruments Instruments => _metrics.Instruments;

    /// <summary>The engine host, for tests that drive shutdown phases directly.</summary>
    internal EngineHost Host => _host;

    /// <summary>
    /// Builds the engine and the HTTP host and starts listening. The server owns <paramref name="backend"/> and
    /// disposes it when it stops. Throws <see cref="ArgumentException"/> on invalid options or an unknown policy.
    /// </summary>
    /// <param name="options">Listening, scheduling and admission settings.</param>
    /// <param name="backend">The model (or the paced simulator).</param>
    /// <param name="logging">Log providers and levels; null logs nothing.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<TempoServer> StartAsync(ServerOptions options, IServingBackend backend, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backend);
        WebApplication? app = null;
        EngineHost? host = null;
        ServingMetrics? metrics = null;
        try
        {
            options.Validate();
            app = Build(options, logging);
            var modelName = string.IsNullOrWhiteSpace(options.ServedModelName) ? backend.ModelName : options.ServedModelName;
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tempo.Server");
            metrics = new ServingMetrics(modelName);
            host = new EngineHost(backend, options, metrics, logger);
            var published = host;
            metrics.Instruments.ObserveEngine(() => published.Snapshot);
            var engine = host;
            var admission = new Admission(options, backend, host.Config, modelName);
            var endpoints = new ServingEndpoints(host, admission, metrics, options, modelName, logger);
            app.Use(new HttpErrorBodies(metrics, options, logger).Invoke);
            app.UseRouting();
            app.Use(endpoints.RequireApiKey);
            app.MapPost("/v1/chat/completions", endpoints.Chat).WithMetadata(ApiKeyRequired.Instance);
            app.MapPost("/v1/completions", endpoints.Completion).WithMetadata(ApiKeyRequired.Instance);
            app.MapGet("/v1/models", endpoints.Models).WithMetadata(ApiKeyRequired.Instance);
            app.MapGet("/health", endpoints.Health);
            app.MapGet("/metrics", endpoints.Metrics);
            await app.StartAsync(cancellationToken);

            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel reported no listening address");
            var baseAddress = bound.TrimEnd('/') + "/";
            ServerLog.Started(logger, modelName, host.PolicyName, host.Config.MaxBatch, host.Config.TokenBudget, host.Config.MaxModelLen, baseAddress);
            return new TempoServer(app, host, metrics, options, modelName, new Uri(baseAddress));
        }
        catch
        {
            // The server owns the backend from the call on: a failed start releases it (the host does, once built).
            metrics?.Dispose();
            if (host is not null)
            {
                host.Dispose();
            }
            else
            {
                backend.Dispose();
            }

            if (app is not null)
            {
                await app.DisposeAsync();
            }

            throw;
        }
    }

    private static WebApplication Build(ServerOptions options, Action<ILoggingBuilder>? logging)
    {
        var address = ListenAddress(options.Host);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(address, options.Port);
            k.AddServerHeader = false;
            var limits = k.Limits;
            limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            // Twice the server's own header limit: between the two, HttpErrorBodies answers with a JSON error.
            limits.MaxRequestHeadersTotalSize = 2 * options.MaxRequestHeadersBytes;
            limits.MaxRequestLineSize = Math.Min(64 * 1024, 2 * options.MaxRequestHeadersBytes);
            limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
            limits.KeepAliveTimeout = options.KeepAliveTimeout;
            limits.MaxConcurrentConnections = options.MaxConcurrentConnections;
            limits.MaxConcurrentUpgradedConnections = 0;
        });
        // The drain (StopAsync) runs before the host stops, so this only bounds the final close of connections.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(10));
        // Signals are handled by TempoServer itself, so the listener stays open while draining.
        builder.Services.AddSingleton<IHostLifetime, InProcessLifetime>();
        return builder.Build();
    }

    /// <summary>
    /// Console logging for <c>tempo serve</c>: one line per entry with a timestamp, at <paramref name="minimum"/> and
    /// above for Tempo and at warning and above for ASP.NET Core's own chatter.
    /// </summary>
    public static Action<ILoggingBuilder> ConsoleLogging(LogLevel minimum) => logging => logging
        .AddSimpleConsole(c =>
        {
            c.SingleLine = true;
            c.TimestampFormat = "HH:mm:ss.fff ";
        })
        .SetMinimumLevel(minimum)
        .AddFilter("Microsoft", LogLevel.Warning)
        .AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

    /// <summary>Completes when the server has stopped (after SIGTERM, Ctrl+C or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _shutdown.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Graceful stop. The listener stays open while the server drains, so routers see it: <c>/health</c> and new
    /// requests get 503. In-flight requests get <see cref="ServerOptions.ShutdownGrace"/> to finish (the drain ends
    /// earlier once none is left and <see cref="ServerOptions.DrainIdleLinger"/> has passed); the rest are aborted,
    /// each stream with a final event with finish reason <c>abort</c>; then the listener closes and the engine stops.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stopGate)
        {
            return _stopping ??= Stop(cancellationToken);
        }
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        try
        {
            _host.BeginDrain(_options.ShutdownGrace);
            var linger = _options.DrainIdleLinger < _options.ShutdownGrace ? _options.DrainIdleLinger : _options.ShutdownGrace;
            var started = System.Diagnostics.Stopwatch.StartNew();
            while (started.Elapsed < _options.ShutdownGrace && !(_host.Snapshot.Live == 0 && started.Elapsed >= linger))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            }

            ServerLog.Drained(_host.Logger, _host.Snapshot.Live);
            _host.AbortAll("server shutting down");
            // The aborts are applied between steps; give the final events a moment to reach their streams.
            var aborting = System.Diagnostics.Stopwatch.StartNew();
            while (_host.Snapshot.Live > 0 && aborting.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
            }

            await _app.StopAsync(cancellationToken);
            _host.Dispose();
        }
        finally
        {
            foreach (var signal in _signals)
            {
                signal.Dispose();
            }

            _shutdown.TrySetResult();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        _metrics.Dispose();
    }

    private static IPAddress ListenAddress(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var ip)
            ? ip
            : throw new ArgumentException($"host must be an IP address or 'localhost', got '{host}'");
    }

    /// <summary>A host lifetime that leaves process signals alone: an in-process server stops only when told to.</summary>
    private sealed class InProcessLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

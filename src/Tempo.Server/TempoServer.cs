using System.Net;

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
    private int _stopped;

    private TempoServer(WebApplication app, EngineHost host, string modelName, Uri baseAddress)
    {
        _app = app;
        _host = host;
        ModelName = modelName;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the server listens, for example <c>http://127.0.0.1:8000/</c> (the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    /// <summary>The model name clients send and <c>/v1/models</c> lists.</summary>
    public string ModelName { get; }

    /// <summary>The scheduling policy in use.</summary>
    public string Policy => _host.PolicyName;

    /// <summary>The engine's state as last published by its thread (live requests, queues, KV usage).</summary>
    public EngineSnapshot Engine => _host.Snapshot;

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
        try
        {
            options.Validate();
            app = Build(options, logging);
            var modelName = string.IsNullOrWhiteSpace(options.ServedModelName) ? backend.ModelName : options.ServedModelName;
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Tempo.Server");
            var metrics = new ServingMetrics(modelName);
            host = new EngineHost(backend, options, metrics, logger);
            var engine = host;
            var admission = new Admission(options, backend, host.Config, modelName);
            var endpoints = new ServingEndpoints(host, admission, metrics, options, modelName, logger);
            app.Use(endpoints.RequireApiKey);
            app.MapPost("/v1/chat/completions", endpoints.Chat);
            app.MapPost("/v1/completions", endpoints.Completion);
            app.MapGet("/v1/models", endpoints.Models);
            app.MapGet("/health", endpoints.Health);
            app.MapGet("/metrics", endpoints.Metrics);
            app.Lifetime.ApplicationStopping.Register(() => engine.BeginDrain(options.ShutdownGrace));
            await app.StartAsync(cancellationToken);

            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel reported no listening address");
            var baseAddress = bound.TrimEnd('/') + "/";
            ServerLog.Started(logger, modelName, host.PolicyName, host.Config.MaxBatch, host.Config.TokenBudget, host.Config.MaxModelLen, baseAddress);
            return new TempoServer(app, host, modelName, new Uri(baseAddress));
        }
        catch
        {
            // The server owns the backend from the call on: a failed start releases it (the host does, once built).
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
        });
        // Kestrel's own deadline for in-flight requests comes after ours, so the engine decides who is aborted.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(10));
        if (!options.HandleProcessSignals)
        {
            builder.Services.AddSingleton<IHostLifetime, InProcessLifetime>();
        }

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

    /// <summary>Completes when the server has been asked to stop (SIGTERM, Ctrl+C or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>
    /// Graceful stop: refuse new requests (503), give in-flight ones <see cref="ServerOptions.ShutdownGrace"/>, abort
    /// the rest (each stream gets a final event with finish reason <c>abort</c>), then stop the engine.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _app.StopAsync(cancellationToken);
        _host.Dispose();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
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

using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using Tempo.Core;
using Tempo.Fleet;

using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;

namespace Tempo.Gateway;

/// <summary>
/// An OpenAI-compatible gateway in front of several replicas, built on YARP: a global queue in the <c>tempo</c> policy's
/// order (select by value, order by deadline), a bounded number of requests in flight per replica, SLO-aware placement
/// by a <see cref="IRouter"/> (the same routers the fleet simulator uses), shedding, YARP's active and passive health checks, and re-queueing of requests whose
/// replica failed before answering. Streams pass through token by token, and every answer is scored per SLO class
/// as it passes. See docs/GATEWAY.md.
/// </summary>
public sealed class TempoGateway : IAsyncDisposable
{
    private const string ClusterId = "replicas";
    private const int MaxBodyBytes = 4 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly DispatchQueue _queue;
    private readonly ReplicaMonitor _monitor;
    private readonly GatewayMetrics _metrics;

    private TempoGateway(WebApplication app, DispatchQueue queue, ReplicaMonitor monitor, GatewayMetrics metrics, Uri baseAddress)
    {
        _app = app;
        _queue = queue;
        _monitor = monitor;
        _metrics = metrics;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the gateway listens (the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Builds the gateway and starts listening; throws <see cref="ArgumentException"/> on invalid options.</summary>
    public static async Task<TempoGateway> StartAsync(GatewayOptions options, ILoggerProvider? logs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var backends = options.BackendsFile is { } file ? [.. options.Backends, .. GatewayOptions.ReadBackendsFile(file)] : options.Backends;
        var clock = Stopwatch.StartNew();
        var queue = new DispatchQueue(RouterRegistry.Create(options.Router), options.MaxQueue, options.MaxInFlightPerReplica, options.InFlightSlack,
            options.TokenBudget, () => clock.Elapsed.TotalSeconds);
        var config = new InMemoryConfigProvider([Route()], [Cluster(backends.Distinct(), options)]);
        foreach (var b in backends.Distinct())
        {
            queue.AddOrRevive(IdOf(b), b);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Parse(options.Host == "localhost" ? "127.0.0.1" : options.Host), options.Port);
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        builder.Services.AddSingleton<IProxyConfigProvider>(config);
        builder.Services.AddReverseProxy();
        var app = builder.Build();
        var metrics = new GatewayMetrics(queue);
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var monitor = new ReplicaMonitor(queue, config, options, http, (b, o) => Cluster(b, o), metrics);
        var jobs = new JobClock();
        long ids = 0;

        app.MapGet("/health", () => queue.Replicas.Any(r => r.Healthy && !r.Retired)
            ? Results.Text("""{"status":"ok"}""", "application/json")
            : Results.Text("""{"status":"unavailable"}""", "application/json", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4"));
        app.MapGet("/v1/models", async (HttpContext ctx) =>
        {
            if (!Authorized(ctx, options))
            {
                await Error(ctx, StatusCodes.Status401Unauthorized, "Invalid or missing API key.", "invalid_api_key");
                return;
            }

            await ctx.Response.WriteAsync(await ModelUnion(http, queue.Replicas.Where(r => r.Healthy && !r.Retired)), ctx.RequestAborted);
        });
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(async (ctx, next) =>
            {
                await Forward(ctx, next, queue, options, metrics, jobs, Interlocked.Increment(ref ids), () => clock.Elapsed.TotalSeconds);
            });
            proxy.UsePassiveHealthChecks();
        });

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        monitor.Start();
        return new TempoGateway(app, queue, monitor, metrics, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <summary>Stops listening and the monitor.</summary>
    public async ValueTask DisposeAsync()
    {
        await _monitor.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The gateway's metrics text, for tests.</summary>
    internal string MetricsText => _metrics.Render();

    /// <summary>The queue, for tests.</summary>
    internal DispatchQueue Queue => _queue;

    /// <summary>A stable destination id for a backend address.</summary>
    internal static string IdOf(Uri backend) => backend.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + backend.AbsolutePath.TrimEnd('/');

    internal static ClusterConfig Cluster(IEnumerable<Uri> backends, GatewayOptions options) => new()
    {
        ClusterId = ClusterId,
        Destinations = backends.ToDictionary(IdOf, b => new DestinationConfig { Address = b.ToString(), Health = new Uri(b, "/").ToString() }),
        HealthCheck = new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig { Enabled = true, Interval = options.HealthInterval, Timeout = TimeSpan.FromSeconds(2), Path = "/health", Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures },
            Passive = new PassiveHealthCheckConfig { Enabled = true, Policy = HealthCheckConstants.PassivePolicy.TransportFailureRate, ReactivationPeriod = TimeSpan.FromSeconds(5) },
        },
        HttpRequest = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(10) },
    };

    private static RouteConfig Route() => new()
    {
        RouteId = "openai",
        ClusterId = ClusterId,
        Match = new RouteMatch { Path = "/v1/{**rest}" },
    };

    private static bool Authorized(HttpContext ctx, GatewayOptions options)
    {
        if (options.ApiKey is not { } key)
        {
            return true;
        }

        var sent = ctx.Request.Headers.Authorization.ToString();
        return sent.StartsWith("Bearer ", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent["Bearer ".Length..]), Encoding.UTF8.GetBytes(key));
    }

    // Queues one request, waits for its replica, forwards it there, and puts it back in the queue if that replica
    // failed before any byte of the answer reached the client.
    private static async Task Forward(HttpContext ctx, Func<Task> next, DispatchQueue queue, GatewayOptions options, GatewayMetrics metrics, JobClock jobs, long id, Func<double> clock)
    {
        var nowS = clock();
        if (!Authorized(ctx, options))
        {
            metrics.Refused("unauthorized");
            await Error(ctx, StatusCodes.Status401Unauthorized, "Invalid or missing API key: send 'Authorization: Bearer <key>'.", "invalid_api_key");
            return;
        }

        // The backends authenticate the gateway, not the client: the client's key stops here.
        ctx.Request.Headers.Authorization = default;
        var path = ctx.Request.Path.Value ?? "";
        var generation = HttpMethods.IsPost(ctx.Request.Method) && (path.EndsWith("/chat/completions", StringComparison.Ordinal) || path.EndsWith("/completions", StringComparison.Ordinal));
        RequestSpec spec;
        var stream = false;
        if (generation)
        {
            ctx.Request.EnableBuffering(MaxBodyBytes, MaxBodyBytes);
            using var body = new MemoryStream();
            try
            {
                await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted);
            }
            catch (BadHttpRequestException e)
            {
                // A body over the limit (sent without a length, so Kestrel could not refuse it up front) or cut short.
                metrics.Refused("bad_request");
                await Error(ctx, e.StatusCode, $"The request body could not be read: {e.Message}", e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "body_too_large" : "bad_request");
                return;
            }

            ctx.Request.Body.Position = 0;
            var shape = RequestShape.Read(body.GetBuffer().AsSpan(0, (int)body.Length), ctx.Request.Headers, id, nowS, options.DefaultSlo, RequestClass.Latency, jobs);
            spec = shape?.Spec ?? Fallback(id, nowS, options);
            stream = shape?.Stream ?? false;
        }
        else
        {
            spec = Fallback(id, nowS, options);
        }

        var (entry, refusal) = queue.Enqueue(spec, generation && options.ShedUnattainable);
        switch (refusal)
        {
            case Refusal.QueueFull:
                metrics.Refused("queue_full");
                ctx.Response.Headers.RetryAfter = "1";
                await Error(ctx, StatusCodes.Status429TooManyRequests, $"The gateway's queue is full ({options.MaxQueue} requests); retry later.", "queue_full");
                return;
            case Refusal.SloUnattainable:
                metrics.Refused("slo_unattainable");
                ctx.Response.Headers.RetryAfter = "1";
                await Error(ctx, StatusCodes.Status429TooManyRequests, "No replica is predicted to meet the request's SLO; retry later or elsewhere.", SloShedding.Code);
                return;
            case Refusal.NoReplica:
                metrics.Refused("no_replica");
                await Error(ctx, StatusCodes.Status503ServiceUnavailable, "No healthy replica is available.", "unavailable");
                return;
        }

        if (generation && options.SetPriority && PriorityField.Add(ctx.Request.Body, PriorityField.Of(entry!.LatestStartS)) is { } withPriority)
        {
            ctx.Response.RegisterForDispose(withPriority);
            ctx.Request.Body = withPriority;
            ctx.Request.ContentLength = withPriority.Length;
        }

        var started = false;
        ctx.Response.OnStarting(() =>
        {
            started = true;
            queue.Started(entry!);
            return Task.CompletedTask;
        });
        try
        {
            while (true)
            {
                Replica replica;
                try
                {
                    replica = await entry!.Placed.WaitAsync(ctx.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    queue.Cancel(entry!);
                    return;
                }
                catch (NoReplicaException e)
                {
                    metrics.Refused("no_replica");
                    await Error(ctx, StatusCodes.Status503ServiceUnavailable, e.Message, "unavailable");
                    return;
                }

                var feature = ctx.GetReverseProxyFeature();
                var destination = feature.AllDestinations.FirstOrDefault(d => d.DestinationId == replica.Id);
                if (destination is null)
                {
                    entry = queue.Requeue(entry);
                    continue;
                }

                feature.AvailableDestinations = [destination];
                if (ctx.Request.Body.CanSeek)
                {
                    ctx.Request.Body.Position = 0;
                }

                // The answer is read on its way to the client, to score it as the client sees it.
                var observer = new AnswerObserver(stream, clock);
                var body = ctx.Response.Body;
                ctx.Response.Body = new ObservedBody(body, observer);
                try
                {
                    await next();
                }
                finally
                {
                    ctx.Response.Body = body;
                }

                var error = ctx.Features.Get<IForwarderErrorFeature>();
                if (generation && (error is null || ctx.Response.HasStarted) && ctx.Response.StatusCode is >= 200 and < 300)
                {
                    metrics.Ended(SloVerdict.Score(observer.Complete(spec, nowS), GainWeights.Paper));
                }

                if (error is null)
                {
                    return;
                }

                if (!ctx.Response.HasStarted && !ctx.RequestAborted.IsCancellationRequested)
                {
                    // Nothing reached the client: the request is placed again, on another replica if this one is down.
                    metrics.Requeued();
                    ctx.Features.Set<IForwarderErrorFeature>(null);
                    ctx.Response.StatusCode = StatusCodes.Status200OK;
                    ctx.Response.Headers.Clear();
                    entry = queue.Requeue(entry);
                    continue;
                }

                if (ctx.Response.HasStarted && ctx.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
                {
                    metrics.BrokenStream();
                    await StreamError(ctx, $"the replica failed mid-stream ({error.Error})");
                }

                return;
            }
        }
        finally
        {
            queue.Release(entry!, started);
        }
    }

    // A request the gateway cannot read still gets a place in the queue, as a default latency request.
    private static RequestSpec Fallback(long id, double nowS, GatewayOptions options) => new()
    {
        Id = id,
        ArrivalS = nowS,
        Class = RequestClass.Latency,
        Slo = options.DefaultSlo,
        PromptTokens = 1,
        OutputTokens = 1,
    };

    private static async Task StreamError(HttpContext ctx, string message)
    {
        try
        {
            var json = JsonSerializer.Serialize(new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "server_error", ["code"] = "replica_failed" } });
            await ctx.Response.WriteAsync($"data: {json}\n\ndata: [DONE]\n\n", ctx.RequestAborted);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            // The connection is gone too: nothing more can be said.
        }
    }

    internal static async Task Error(HttpContext ctx, int status, string message, string code)
    {
        if (ctx.Response.HasStarted)
        {
            return;
        }

        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        var type = status == StatusCodes.Status429TooManyRequests ? "rate_limit_error" : status == StatusCodes.Status401Unauthorized ? "invalid_request_error" : "server_error";
        var json = JsonSerializer.Serialize(new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code } });
        try
        {
            await ctx.Response.WriteAsync(json, ctx.RequestAborted);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // Client gone.
        }
    }

    private static async Task<string> ModelUnion(HttpClient http, IEnumerable<Replica> replicas)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var data = new JsonArray();
        foreach (var r in replicas)
        {
            try
            {
                var text = await http.GetStringAsync(new Uri(r.Address, "/v1/models"));
                if (JsonNode.Parse(text)?["data"] is JsonArray models)
                {
                    foreach (var m in models)
                    {
                        if (m?["id"]?.GetValue<string>() is { } mid && seen.Add(mid))
                        {
                            data.Add(m.DeepClone());
                        }
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
                // A replica that cannot list its models contributes none.
            }
        }

        return JsonSerializer.Serialize(new JsonObject { ["object"] = "list", ["data"] = data });
    }
}

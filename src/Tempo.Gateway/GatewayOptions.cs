using Tempo.Core;

namespace Tempo.Gateway;

/// <summary>How <see cref="TempoGateway"/> listens, routes and sheds.</summary>
public sealed record GatewayOptions
{
    /// <summary>Backend base addresses (any OpenAI-compatible server).</summary>
    public IReadOnlyList<Uri> Backends { get; init; } = [];

    /// <summary>A file with one backend address per line (<c>#</c> starts a comment), re-read when it changes.</summary>
    public string? BackendsFile { get; init; }

    /// <summary>Address to bind; loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one.</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Router name (<see cref="Fleet.RouterRegistry"/>): <c>tempo</c>, <c>round-robin</c> or <c>least-loaded</c>.</summary>
    public string Router { get; init; } = "tempo";

    /// <summary>When set, <c>/v1/*</c> needs <c>Authorization: Bearer</c> this key (it is not forwarded to backends).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Most requests held in the gateway's queue; one more is answered 429 <c>queue_full</c>.</summary>
    public int MaxQueue { get; init; } = 1024;

    /// <summary>Most requests in flight on one replica before its batch size is known, and the cap after.</summary>
    public int MaxInFlightPerReplica { get; init; } = 64;

    /// <summary>Requests in flight on a replica beyond the largest batch it has reported running.</summary>
    public int InFlightSlack { get; init; } = 2;

    /// <summary>Answer 429 <c>slo_unattainable</c> when no replica is predicted to meet a request's SLO.</summary>
    public bool ShedUnattainable { get; init; }

    /// <summary>
    /// Set vLLM's request <c>priority</c> (lower is served first) on every generation request that has none: its latest
    /// start time in milliseconds on the gateway's clock, so a backend that schedules by priority (vLLM with
    /// <c>--scheduling-policy priority</c>, <c>tempo serve --policy priority</c>) keeps the least-laxity order among
    /// what it holds. Off by default: a backend that ignores it is unaffected, one that reads it differently is.
    /// </summary>
    public bool SetPriority { get; init; }

    /// <summary>SLO of a request that declares none (as <c>tempo serve</c>'s default).</summary>
    public Slo DefaultSlo { get; init; } = new(1.0, 0.1, 10.0);

    /// <summary>Prompt tokens a replica prefills per step, assumed for routing (the backends do not report it).</summary>
    public int TokenBudget { get; init; } = 512;

    /// <summary>How often every replica's <c>/metrics</c> is read.</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>YARP's active health check interval (<c>GET /health</c>).</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Backends.Count == 0 && BackendsFile is null)
        {
            throw new ArgumentException("the gateway needs at least one backend (--backend URL or --backends-file FILE)");
        }

        foreach (var b in Backends)
        {
            if (!b.IsAbsoluteUri || (b.Scheme != Uri.UriSchemeHttp && b.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"backend '{b}' is not an http(s) address");
            }
        }

        if (Port is < 0 or > 65535 || MaxQueue < 1 || MaxInFlightPerReplica < 1 || InFlightSlack < 0 || TokenBudget < 1)
        {
            throw new ArgumentException("port must be 0..65535, and the queue bound, in-flight cap and token budget positive");
        }

        if (ScrapeInterval <= TimeSpan.Zero || HealthInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("scrape and health intervals must be positive");
        }

        Fleet.RouterRegistry.Create(Router);
        DefaultSlo.Validate();
    }

    /// <summary>Reads a backends file: one address per line, blank lines and <c>#</c> comments skipped.</summary>
    public static IReadOnlyList<Uri> ReadBackendsFile(string path)
    {
        var list = new List<Uri>();
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (!Uri.TryCreate(line, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"{path}: '{line}' is not an http(s) address");
            }

            list.Add(uri);
        }

        return list;
    }
}

namespace Tempo.Fleet;

/// <summary>The routers by name.</summary>
public static class RouterRegistry
{
    private static readonly (string Name, string Description, Func<IRouter> Create)[] Routers =
    [
        ("round-robin", "each request to the next replica in turn", () => new RoundRobinRouter()),
        ("least-loaded", "fewest waiting requests and least KV cache in use (llm-d's default queue and KV scorers)", () => new LeastLoadedRouter()),
        ("tempo", "the replica where the request is predicted to meet its SLO with the most margin; a job's calls stay together while they fit", () => new SloAwareRouter()),
    ];

    /// <summary>Router names, in registration order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Routers.Select(r => r.Name)];

    /// <summary>One line describing a router.</summary>
    public static string Describe(string name) => Find(name).Description;

    /// <summary>A fresh router (routers are stateful: one per run).</summary>
    public static IRouter Create(string name) => Find(name).Create();

    private static (string Name, string Description, Func<IRouter> Create) Find(string name)
    {
        foreach (var r in Routers)
        {
            if (string.Equals(r.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return r;
            }
        }

        throw new ArgumentException($"unknown router '{name}'; use {string.Join(", ", Names)}");
    }
}

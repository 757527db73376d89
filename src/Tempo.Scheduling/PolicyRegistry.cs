using Tempo.Engine;

namespace Tempo.Scheduling;

/// <summary>A registered scheduling policy.</summary>
/// <param name="Name">Name used on the command line.</param>
/// <param name="Description">One line for help and reports.</param>
/// <param name="DefaultTokenBudget">Per-step token budget the policy is evaluated with unless overridden.</param>
/// <param name="Create">Builds a fresh scheduler instance.</param>
/// <param name="Sheds">The policy honours <see cref="SchedulerOptions.ShedUnattainable"/>.</param>
public sealed record PolicyInfo(string Name, string Description, int DefaultTokenBudget, Func<SchedulerOptions, IScheduler> Create, bool Sheds = false);

/// <summary>All scheduling policies by name.</summary>
public static partial class PolicyRegistry
{
    private static readonly Dictionary<string, PolicyInfo> Policies = new(StringComparer.OrdinalIgnoreCase);

    static PolicyRegistry()
    {
        RegisterBaselines();
        RegisterTempo();
    }

    /// <summary>Registered policies in registration order.</summary>
    public static IReadOnlyList<PolicyInfo> All => [.. Policies.Values];

    /// <summary>Looks a policy up by name; throws <see cref="ArgumentException"/> naming the known ones if absent.</summary>
    public static PolicyInfo Get(string name) =>
        Policies.TryGetValue(name.Trim(), out var info)
            ? info
            : throw new ArgumentException($"unknown policy '{name}'; known policies: {string.Join(", ", Policies.Keys)}");

    private static void Register(PolicyInfo info) => Policies.Add(info.Name, info);
}

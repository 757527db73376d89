using System.Globalization;

using Tempo.Scheduling;
using Tempo.Scheduling.Gain.SelectEdf;

namespace Tempo.Benchmarks;

/// <summary>
/// A policy named on a benchmark's command line, with <c>tempo</c>'s re-plan settings: <c>tempo@N</c> runs the whole
/// selection every N steps, <c>tempo~D</c> re-plans on kept prices within a drift of D (0: never), and
/// <c>tempo~D/F</c> also prices everything at least every F re-plans; they combine as <c>tempo@N~D/F</c>.
/// </summary>
internal static class PolicyVariant
{
    /// <summary>The registered policy and the <c>tempo</c> options the name asks for (null: the defaults).</summary>
    public static (PolicyInfo Info, SelectEdfOptions? Select) Parse(string policy)
    {
        var (rest, drift) = policy.Split('~') is [var a, var b] ? (a, b) : (policy, null);
        var (name, every) = rest.Split('@') is [var n, var e] ? (n, e) : (rest, null);
        var select = SelectEdfOptions.Default;
        var changed = false;
        if (every is not null)
        {
            select = select with { ReplanSteps = int.Parse(every, CultureInfo.InvariantCulture) };
            changed = true;
        }

        if (drift is not null)
        {
            var parts = drift.Split('/');
            select = select with { ReplanDrift = double.Parse(parts[0], CultureInfo.InvariantCulture) };
            select = parts.Length > 1 ? select with { FullReplanEvery = int.Parse(parts[1], CultureInfo.InvariantCulture) } : select;
            changed = true;
        }

        return (PolicyRegistry.Get(name), changed ? select : null);
    }
}

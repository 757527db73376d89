namespace Tempo.Scheduling.Ordering;

/// <summary>
/// Where a request stands in a policy's order: smaller keys are served first, by <see cref="Primary"/> and then
/// <see cref="Secondary"/>; requests with equal keys go in submission order (<see cref="KeyedRequest"/>).
/// </summary>
/// <param name="Primary">The main criterion (arrival time, deadline slack, a tier, a negated density, ...).</param>
/// <param name="Secondary">The tie-breaker before submission order.</param>
internal readonly record struct OrderKey(double Primary, double Secondary);

namespace Tempo.Engine;

/// <summary>The engine's notion of now, in seconds. Injected so that simulation is deterministic.</summary>
public interface IClock
{
    /// <summary>Current time in seconds.</summary>
    double NowS { get; }
}

/// <summary>A clock that moves only when told to: the simulator's virtual time.</summary>
public sealed class VirtualClock : IClock
{
    /// <inheritdoc />
    public double NowS { get; private set; }

    /// <summary>Moves time forward by <paramref name="seconds"/> (must be non-negative).</summary>
    public void Advance(double seconds)
    {
        if (!(seconds >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "time cannot move backwards");
        }

        NowS += seconds;
    }

    /// <summary>Moves time forward to <paramref name="timeS"/>; earlier times are ignored.</summary>
    public void AdvanceTo(double timeS) => NowS = Math.Max(NowS, timeS);
}

/// <summary>Wall-clock time from a <see cref="TimeProvider"/>, measured from construction.</summary>
public sealed class WallClock : IClock
{
    private readonly TimeProvider _time;
    private readonly long _start;

    /// <summary>Creates a wall clock starting at zero now.</summary>
    public WallClock(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
    }

    /// <inheritdoc />
    public double NowS => _time.GetElapsedTime(_start).TotalSeconds;
}

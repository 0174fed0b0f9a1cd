namespace ResultGrid.Storage;

/// <summary>How a store retries calls that failed on the connection. Bound per provider (e.g. <c>ResultGrid:Redis:Retry</c>).</summary>
public sealed class StoreRetryOptions
{
    /// <summary>Retries after the first attempt. Default 10; 0 turns retrying off.</summary>
    public int MaxRetries { get; set; } = 10;

    /// <summary>The first back-off; each retry doubles it. Default 100 ms.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest back-off. Default 2 s, so that all retries end well inside Orleans' 30 s call timeout.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Null when the settings are usable; otherwise what is wrong, naming <paramref name="section"/>.</summary>
    public string? Validate(string section)
    {
        if (MaxRetries is < 0 or > 100)
        {
            return $"{section}:MaxRetries is {MaxRetries}; it must be from 0 to 100.";
        }

        if (BaseDelay < TimeSpan.Zero || MaxDelay < BaseDelay || MaxDelay > TimeSpan.FromSeconds(30))
        {
            return $"{section}: BaseDelay ({BaseDelay}) must be 0 or more and at most MaxDelay ({MaxDelay}), which is at most 00:00:30.";
        }

        return null;
    }
}

/// <summary>
/// Exponential back-off with full jitter (a random wait between 0 and the doubled delay, so that
/// many writers do not retry in step), for errors the store calls transient. When retries run
/// out the caller gets <see cref="ResultStoreUnavailableException"/> naming the endpoint, and
/// nothing is acknowledged.
/// </summary>
internal sealed class StoreRetryPolicy(StoreRetryOptions options, TimeProvider time)
{
    public async ValueTask<T> ExecuteAsync<T>(Func<ValueTask<T>> call, Func<Exception, bool> isTransient, string endpoint, string operation, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (isTransient(ex) && attempt < options.MaxRetries)
            {
                await Task.Delay(Delay(attempt), time, cancellationToken);
            }
            catch (Exception ex) when (isTransient(ex))
            {
                throw new ResultStoreUnavailableException(
                    $"The result store at {endpoint} could not be reached for {operation} after {attempt + 1} attempts: {ex.Message.TrimEnd('.')}. Nothing was acknowledged.", ex);
            }
        }
    }

    internal TimeSpan Delay(int attempt)
    {
        var ceiling = Math.Min(options.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)), options.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }
}

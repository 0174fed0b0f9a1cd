using System.Collections;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace ResultGrid.Hosting;

/// <summary>
/// A configuration value that cannot be used, found before the host starts: the key, the value
/// as written (null for a secret, which is never repeated) and a message that names both and
/// what is allowed.
/// </summary>
public sealed record ConfigurationProblem(string Key, string? Value, string Message)
{
    public override string ToString() => Message;
}

/// <summary>
/// Finds every configuration value that the options binder would refuse (a time span that is
/// not one, a port that is not a number, a flag that is neither true nor false, an unknown log
/// level) before anything is bound. The binder itself throws at the first one, deep inside the
/// host's start, as "Failed to convert configuration value … to type 'System.TimeSpan'" with a
/// stack trace; this names each key, its value and the format, all at once. Conversion is the
/// binder's own (<see cref="ConfigurationBinder.Get(IConfiguration, Type)"/> on each value), so
/// the check and the binding never disagree about what parses.
/// </summary>
internal static class ConfigurationValueCheck
{
    /// <summary>Every value under each section that its options type cannot take.</summary>
    public static IReadOnlyList<ConfigurationProblem> Check(IConfiguration configuration, IEnumerable<(string Section, Type Options)> sections)
    {
        var problems = new List<ConfigurationProblem>();
        foreach (var (section, options) in sections)
        {
            CheckObject(configuration.GetSection(section), section, options, problems);
        }

        return problems;
    }

    /// <summary>
    /// <c>Logging:LogLevel:*</c> and <c>Logging:&lt;provider&gt;:LogLevel:*</c>: an unknown level
    /// makes the logging framework throw when the first logger is made.
    /// </summary>
    public static IEnumerable<ConfigurationProblem> CheckLogLevels(IConfiguration configuration)
    {
        var logging = configuration.GetSection("Logging");
        var levelSections = new[] { logging.GetSection("LogLevel") }
            .Concat(logging.GetChildren().Where(c => !c.Key.Equals("LogLevel", StringComparison.OrdinalIgnoreCase)).Select(c => c.GetSection("LogLevel")));
        foreach (var levels in levelSections)
        {
            foreach (var level in levels.GetChildren())
            {
                // The logging framework's own rule (LoggerFilterConfigureOptions): empty is ignored, a name is parsed ignoring case.
                if (!string.IsNullOrEmpty(level.Value) && !Enum.TryParse<LogLevel>(level.Value, ignoreCase: true, out _))
                {
                    yield return new ConfigurationProblem(level.Path, level.Value,
                        $"{level.Path}: '{level.Value}' is not a log level; allowed: {string.Join(", ", Enum.GetNames<LogLevel>())}.");
                }
            }
        }
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for a message.</summary>
    public static string Allowed(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(TimeSpan))
        {
            // TimeSpan's invariant format; a bare number is a count of days (86400 is 236 years).
            return "a time span, [d.]hh:mm[:ss[.fff]]: 1.00:00:00 is a day, 00:00:30 thirty seconds (a bare number counts days)";
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(type));
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(byte))
        {
            var min = type.GetField("MinValue")!.GetValue(null);
            var max = type.GetField("MaxValue")!.GetValue(null);
            return string.Create(CultureInfo.InvariantCulture, $"a whole number (from {min} to {max})");
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "a number, such as 0.5";
        }

        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return "a date and time, ISO 8601 (2025-01-31T04:00:00Z)";
        }

        return $"a {type.Name} value";
    }

    // path: the key as the documentation spells it (ResultGrid:ResultExpires), whatever the
    // casing of the source (RESULTGRID__RESULTEXPIRES).
    private static void CheckObject(IConfigurationSection section, string path, Type type, List<ConfigurationProblem> problems)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            // A key no property takes (another options class's subsection, a typo) is not the binder's concern.
            if (!properties.TryGetValue(child.Key, out var property))
            {
                continue;
            }

            var propertyType = property.PropertyType;
            var key = ConfigurationPath.Combine(path, property.Name);
            if (IsScalar(propertyType))
            {
                if (property.CanWrite)
                {
                    CheckScalar(child, key, propertyType, problems);
                }
            }
            else if (ElementType(propertyType) is { } element)
            {
                foreach (var item in child.GetChildren())
                {
                    if (IsScalar(element))
                    {
                        CheckScalar(item, ConfigurationPath.Combine(key, item.Key), element, problems);
                    }
                    else if (IsOurs(element))
                    {
                        CheckObject(item, ConfigurationPath.Combine(key, item.Key), element, problems);
                    }
                }
            }
            else if (IsOurs(propertyType))
            {
                CheckObject(child, key, propertyType, problems);
            }
        }
    }

    private static void CheckScalar(IConfigurationSection value, string key, Type type, List<ConfigurationProblem> problems)
    {
        if (value.Value is null || type == typeof(string))
        {
            return;
        }

        try
        {
            _ = value.Get(type);
        }
        catch (InvalidOperationException)
        {
            // The binder's conversion failed: say it in the configuration's words, not the CLR's.
            var secret = key.Contains("password", StringComparison.OrdinalIgnoreCase);
            var shown = secret ? "(the value given)" : $"'{value.Value}'";
            problems.Add(new ConfigurationProblem(key, secret ? null : value.Value, $"{key}: {shown} is not {Allowed(type)}."));
        }
    }

    /// <summary>A type the binder converts from one string (a number, a time span, a flag, an enum).</summary>
    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(TimeSpan) || type == typeof(decimal)
            || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Guid) || type == typeof(Uri) || type == typeof(TimeOnly);
    }

    /// <summary>Options classes of this project (a retry policy inside the Redis options): others (codecs, JSON options) are bound in code.</summary>
    private static bool IsOurs(Type type) =>
        type.IsClass && type.Namespace is { } ns && (ns == "ResultGrid" || ns.StartsWith("ResultGrid.", StringComparison.Ordinal));

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        // Lists and sets; dictionaries are left alone (none of the options has one of scalars).
        return type.IsGenericType && type.GetGenericArguments() is [var element] ? element : null;
    }
}

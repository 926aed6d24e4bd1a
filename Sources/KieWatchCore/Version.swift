/// The kiewatch release, shown by `kiewatch version` and `kiewatch_build_info`.
public enum KieWatchVersion {
    public static let current = "0.1.0"
}

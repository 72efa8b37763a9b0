//! Pure parsers for cgroupfs interface files (v1 and v2), cgroup mode detection and Kubernetes path recognition.

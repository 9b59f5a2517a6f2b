// Holds the Qt resources of CamSight; see CMakeLists.txt.

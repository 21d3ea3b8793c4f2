# env.sh — sourced by the scripts: the Open MPI settings for running as root on a small
# machine (more ranks than cores), and one OpenBLAS thread per rank unless set.
# Not for clusters: site MPI settings belong in slurm/profiles.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_hwloc_base_binding_policy=none
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

#include <mpi.h>

/* Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over global objects,
 * which Swift cannot import: these return them. */
static inline MPI_Comm rk_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype rk_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype rk_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype rk_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype rk_mpi_long(void) { return MPI_LONG; }
static inline MPI_Datatype rk_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op rk_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op rk_mpi_min(void) { return MPI_MIN; }
static inline MPI_Errhandler rk_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *rk_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int rk_mpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Comm rk_mpi_comm_null(void) { return MPI_COMM_NULL; }
